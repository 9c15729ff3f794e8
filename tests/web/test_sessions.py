"""The portal's session store on its own: ids are unguessable and distinct, a session is
forgotten once idle, and signing out forgets it at once. The clock is the test's, not time."""

from __future__ import annotations

from fivesafes.web.sessions import IDLE_SECONDS, Session, Sessions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_forgotten_once_idle_and_kept_while_used() -> None:
    clock = Clock()
    held = Sessions(clock=clock)
    sid = held.start(Session("fst_secret", "ana", ("analyst",)))
    clock.now += IDLE_SECONDS - 1
    assert held.get(sid) is not None  # used: its idle time starts again
    clock.now += IDLE_SECONDS - 1
    assert held.get(sid) is not None
    clock.now += IDLE_SECONDS + 1
    assert held.get(sid) is None
    clock.now += 1
    assert held.get(sid) is None  # gone, not merely hidden


def test_ids_are_distinct_and_signing_out_forgets_at_once() -> None:
    held = Sessions(clock=Clock())
    ids = {held.start(Session("fst_secret", "ana", ())) for _ in range(50)}
    assert len(ids) == 50 and all(len(i) >= 43 for i in ids)  # 32 random bytes, base64url
    one = next(iter(ids))
    held.end(one)
    assert held.get(one) is None and held.get("") is None and held.get(None) is None
    assert all(held.get(i) is not None for i in ids - {one})
    tokens = {held.get(i).csrf for i in ids - {one}}  # type: ignore[union-attr]
    assert len(tokens) == 49  # each session its own form token
