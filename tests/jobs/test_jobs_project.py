"""project.yaml: what a valid study looks like, and a clear, located error for each mistake."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobs_support import write_project

from fivesafes.jobs import Privacy, Problem, ProjectError, load_project
from fivesafes.jobs.graph import dependency_order, find_cycle

ISSUE_EXAMPLE = """
version: 1
actions:
  extract:
    run: fivesafes generate-dataset analysis/study.py --output output/dataset.parquet
    outputs:
      highly_sensitive: {dataset: output/dataset.parquet}
  summarise:
    run: python analysis/summarise.py
    needs: [extract]
    outputs:
      moderately_sensitive: {table: output/asthma_by_age.csv, chart: output/asthma_by_age.png}
"""


def problems(tmp_path: Path, text: str) -> list[Problem]:
    write_project(tmp_path, text)
    with pytest.raises(ProjectError) as caught:
        load_project(tmp_path)
    return caught.value.problems


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, found
    return found[0]


def test_the_issue_example_is_valid(tmp_path: Path) -> None:
    write_project(tmp_path, ISSUE_EXAMPLE)
    project = load_project(tmp_path)
    extract, summarise = project.actions["extract"], project.actions["summarise"]
    assert extract.reads_store and not summarise.reads_store
    assert extract.argv[-2:] == ("--output", "output/dataset.parquet")
    assert summarise.needs == ("extract",)
    assert [(o.name, o.privacy) for o in summarise.outputs] == [
        ("table", Privacy.MODERATELY_SENSITIVE),
        ("chart", Privacy.MODERATELY_SENSITIVE),
    ]
    assert project.inputs(summarise) == extract.outputs
    assert [a.name for a in project.plan("summarise")] == ["extract", "summarise"]
    assert [a.name for a in project.plan("extract")] == ["extract"]


def test_unknown_need_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    text = ISSUE_EXAMPLE.replace("needs: [extract]", "needs: [extrct]")
    problem = only(problems(tmp_path, text))
    assert (problem.action, problem.field, problem.line) == ("summarise", "needs.0", 10)
    assert "unknown action 'extrct'" in problem.message
    assert "did you mean 'extract'" in problem.message
    assert str(problem).startswith(f"{tmp_path / 'project.yaml'}:10: action 'summarise'")


def test_a_cycle_is_shown_along_its_path(tmp_path: Path) -> None:
    text = ISSUE_EXAMPLE.replace(
        "  extract:\n    run:", "  extract:\n    needs: [summarise]\n    run:"
    )
    problem = only(problems(tmp_path, text))
    assert "cycle" in problem.message
    assert "extract → summarise → extract" in problem.message


def test_an_action_needing_itself_is_a_cycle(tmp_path: Path) -> None:
    text = ISSUE_EXAMPLE.replace("needs: [extract]", "needs: [summarise]")
    assert "summarise → summarise" in only(problems(tmp_path, text)).message


@pytest.mark.parametrize(
    ("second", "how"),
    [("output/dataset.parquet", "the same file as"), ("output/dataset.parquet/x.csv", "nested")],
)
def test_overlapping_outputs(tmp_path: Path, second: str, how: str) -> None:
    text = ISSUE_EXAMPLE.replace("output/asthma_by_age.png", second)
    problem = only(problems(tmp_path, text))
    assert (problem.action, problem.field) == ("summarise", "outputs.moderately_sensitive.chart")
    assert how in problem.message and "action 'extract'" in problem.message


@pytest.mark.parametrize("path", ["/etc/passwd", "../elsewhere.csv", "output/../../x.csv"])
def test_paths_outside_the_project(tmp_path: Path, path: str) -> None:
    text = ISSUE_EXAMPLE.replace("output/asthma_by_age.csv", path)
    assert "outside the project" in only(problems(tmp_path, text)).message


def test_a_symlink_leading_out_of_the_project(tmp_path: Path) -> None:
    project = tmp_path / "study"
    project.mkdir()
    (project / "output").symlink_to(tmp_path)
    assert "symbolic link" in problems(project, ISSUE_EXAMPLE)[0].message


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("moderately_sensitive:", "minimally_sensitive:", "outputs.minimally_sensitive", "privacy"),
        ("run: python analysis", "rnu: python analysis", "rnu", "unknown field"),
        (
            "output/asthma_by_age.csv",
            "output/*.csv",
            "outputs.moderately_sensitive.table",
            "pattern",
        ),
        (
            "output/asthma_by_age.csv",
            "metadata/x.csv",
            "outputs.moderately_sensitive.table",
            "kept",
        ),
        ("run: python analysis/summarise.py", "run: python 'unclosed", "run", "split"),
        ("needs: [extract]", "needs: extract", "needs", "list"),
    ],
)
def test_field_mistakes(tmp_path: Path, old: str, new: str, field: str, words: str) -> None:
    found = problems(tmp_path, ISSUE_EXAMPLE.replace(old, new))
    mine = [p for p in found if p.field == field]
    assert mine and words in mine[0].message, found
    assert mine[0].action == "summarise"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = ISSUE_EXAMPLE.replace("version: 1", "version: 2").replace("[extract]", "[nope]")
    text = text.replace("output/asthma_by_age.png", "/tmp/chart.png")
    found = problems(tmp_path, text)
    assert {p.field for p in found} == {"version", "needs.0", "outputs.moderately_sensitive.chart"}


def test_two_actions_with_one_name(tmp_path: Path) -> None:
    text = ISSUE_EXAMPLE + ISSUE_EXAMPLE.split("actions:\n", 1)[1].split("  summarise:")[0]
    problem = only(problems(tmp_path, text))
    assert problem.message == "action 'extract' appears twice"
    assert problem.line == 13


def test_not_yaml_and_no_file(tmp_path: Path) -> None:
    assert "not valid YAML" in only(problems(tmp_path, "actions: [unclosed")).message
    with pytest.raises(ProjectError, match=r"no project\.yaml"):
        load_project(tmp_path / "empty")


def test_unknown_target(tmp_path: Path) -> None:
    write_project(tmp_path, ISSUE_EXAMPLE)
    with pytest.raises(KeyError, match="did you mean 'summarise'"):
        load_project(tmp_path).plan("sumarise")


def test_paths_are_normalised(tmp_path: Path) -> None:
    write_project(tmp_path, ISSUE_EXAMPLE.replace("output/asthma_by_age.csv", "./output/t.csv"))
    table = load_project(tmp_path).actions["summarise"].outputs[0]
    assert table.path == PurePosixPath("output/t.csv")


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """Random acyclic graphs: node i may need only nodes before it."""
    n = draw(st.integers(1, 12))
    names = [f"a{i}" for i in range(n)]
    graph = {
        name: draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else []
        for i, name in enumerate(names)
    }
    return graph


@given(dags(), st.data())
def test_dependency_order_puts_every_need_first(
    graph: dict[str, list[str]], data: st.DataObject
) -> None:
    assert find_cycle(graph) is None
    targets = data.draw(st.lists(st.sampled_from(sorted(graph)), min_size=1, unique=True))
    order = dependency_order(graph, targets)
    assert len(order) == len(set(order))
    position = {name: i for i, name in enumerate(order)}
    wanted = set(targets)
    frontier = list(targets)
    while frontier:
        for need in graph[frontier.pop()]:
            if need not in wanted:
                wanted.add(need)
                frontier.append(need)
    assert set(order) == wanted
    for name in order:
        assert all(position[need] < position[name] for need in graph[name])


@given(dags(), st.data())
def test_a_back_edge_makes_a_cycle_that_is_found(
    graph: dict[str, list[str]], data: st.DataObject
) -> None:
    names = sorted(graph, key=lambda n: int(n[1:]))
    later = data.draw(st.sampled_from(names))
    earlier = data.draw(st.sampled_from(names[: names.index(later) + 1]))
    # A path later ⇝ earlier exists only if we add one: make earlier need later.
    graph[earlier] = [*graph[earlier], later]
    reachable = {later}
    frontier = [later]
    while frontier:
        for need in graph[frontier.pop()]:
            if need not in reachable:
                reachable.add(need)
                frontier.append(need)
    cycle = find_cycle(graph)
    if earlier in reachable:
        assert cycle is not None
        assert cycle[0] == cycle[-1]
        assert all(b in graph[a] for a, b in itertools.pairwise(cycle))
    else:
        assert cycle is None


def test_the_example_study_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "asthma-prevalence"
    project = load_project(example)
    assert [a.name for a in project.plan()] == ["extract", "summarise"]
    assert project.actions["extract"].reads_store
    released = [o for o in project.outputs if o.privacy is Privacy.MODERATELY_SENSITIVE]
    assert {o.path.suffix for o in released} == {".csv", ".png"}


scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "a"]))
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
BAD_PATHS = ["o/a0.csv", "o/a0.csv/b", "o", "../x", "/x", "o/*.csv", "metadata/x", ""]


@st.composite
def documents(draw: st.DrawFn) -> tuple[Any, bool]:
    """A valid project of up to four actions, and maybe one random change that may spoil it."""
    n = draw(st.integers(1, 4))
    actions: dict[str, Any] = {}
    for i in range(n):
        needs = (
            draw(st.lists(st.sampled_from([f"a{j}" for j in range(i)]), unique=True)) if i else []
        )
        level = draw(st.sampled_from([p.value for p in Privacy]))
        actions[f"a{i}"] = {
            "run": f"python step.py {i}",
            "needs": needs,
            "outputs": {level: {"out": f"o/a{i}.csv"}},
        }
    document: Any = {"version": 1, "actions": actions}
    change = draw(st.sampled_from(["none", "field", "need", "path", "version", "top"]))
    name = draw(st.sampled_from(sorted(actions)))
    if change == "field":
        field = draw(st.sampled_from(["run", "needs", "outputs", "extra"]))
        actions[name][field] = draw(anything)
    elif change == "need":
        extra = draw(st.sampled_from([*actions, "zz"]))
        actions[name]["needs"] = [*actions[name]["needs"], extra]
    elif change == "path":
        level = next(iter(actions[name]["outputs"]))
        actions[name]["outputs"][level]["out"] = draw(st.sampled_from(BAD_PATHS))
    elif change == "version":
        document["version"] = draw(anything)
    elif change == "top":
        document = draw(anything)
    return document, change == "none"


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_project_file_loads_or_is_refused_with_problems(
    case: tuple[Any, bool],
) -> None:
    """Whatever the file holds, the answer is a sound project or a list of located problems."""
    document, untouched = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "project.yaml").write_text(yaml.safe_dump(document))
        try:
            project = load_project(root)
        except ProjectError as exc:
            assert not untouched, exc
            assert exc.problems and all(p.message for p in exc.problems)
            return
    assert document.get("version") == 1
    for action in project.actions.values():
        assert action.outputs and all(n in project.actions for n in action.needs)
    assert find_cycle({n: a.needs for n, a in project.actions.items()}) is None
    paths = [o.path for o in project.outputs]
    assert all(not a.is_relative_to(b) for a in paths for b in paths if a is not b)
