"""The store versions the API reads: every committed version carries the lookup indexes, and
what a reader works out once per version (who is registered where) follows the next version."""

from __future__ import annotations

import duckdb
from api_support import GP1, World

from fivesafes.store import indexes, resources
from fivesafes.store.versions import Follower, writing


def test_a_committed_store_has_the_lookup_indexes_and_reads_use_them(world: World) -> None:
    with duckdb.connect(str(world.data_dir.database), read_only=True) as con:
        names = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        plan = con.execute(
            'EXPLAIN ANALYZE SELECT resource FROM identifiable."Patient" WHERE id = ?', ["p0"]
        ).fetchall()
    assert {"ix_patient_id", "ix_patient_nhs_number", "ix_observation_patient_ref"} <= names
    assert {"ix_episodeofcare_organisation_ref", "ix_history_id"} <= names
    assert "Index Scan" in plan[0][1]
    with writing(world.data_dir, bulk=False) as store:
        assert indexes.ensure(store.con) == []  # a small write keeps them up to date


def test_a_bulk_write_drops_the_indexes_and_commits_them_rebuilt(fresh_world: World) -> None:
    def names() -> set[str]:
        with duckdb.connect(str(fresh_world.data_dir.database), read_only=True) as con:
            rows = con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()
        return {str(r[0]) for r in rows}

    before = names()
    with writing(fresh_world.data_dir) as store:  # a load: written without them
        left = store.con.execute("SELECT count(*) FROM duckdb_indexes()").fetchone()
        assert left == (0,)
    assert names() == before and "ix_patient_id" in before


def test_what_a_reader_works_out_once_follows_the_next_version(fresh_world: World) -> None:
    follower = Follower(fresh_world.data_dir)
    try:
        with follower.reading() as cur:
            before = follower.memo("related", lambda: resources.relationships(cur, GP1))
        assert set(before) == {"p0", "p1", "p2", "p3"} and before["p0"] == "registered"
        with writing(fresh_world.data_dir) as store:  # q0 moves to GP1 in a new version
            store.con.execute(
                "UPDATE identifiable.\"EpisodeOfCare\" SET organisation_ref = 'gp1' "
                "WHERE patient_ref = 'q0'"
            )
        with follower.reading() as cur:
            after = follower.memo("related", lambda: resources.relationships(cur, GP1))
            assert resources.related(cur, "q0", GP1) == after["q0"] == "registered"
        assert "q0" in after and "q0" not in before
    finally:
        follower.close()
