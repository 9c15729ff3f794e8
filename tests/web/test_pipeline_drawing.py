"""Every real ``project.yaml`` in examples/ drawn as the library draws it: one box per action,
one arrow per need (from the needed action to the one needing it, pointing right), and the
same in words in the image's description for anyone who cannot see it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fivesafes.environment.library import Pipeline, PipelineAction, pipeline_of
from fivesafes.jobs.project import load_project
from fivesafes.web.pipeline import columns, draw

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/project.yaml"))


def _as_drawn(folder: Path) -> Pipeline:
    return pipeline_of(load_project(folder))


def test_there_are_examples_to_draw() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("yaml", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_every_action_and_need_of_a_real_project_is_drawn(yaml: Path) -> None:
    project = load_project(yaml.parent)
    drawn = str(draw(_as_drawn(yaml.parent), "A pipeline"))
    assert re.findall(r'data-action="([^"]+)"', drawn) == list(project.actions)
    edges = re.findall(r'data-from="([^"]+)" data-to="([^"]+)"', drawn)
    assert sorted(edges) == sorted((n, a.name) for a in project.actions.values() for n in a.needs)
    assert drawn.count("<rect ") == len(project.actions)
    described = re.search(r'<desc id="pipeline-desc">(.*?)</desc>', drawn)
    assert described is not None
    for action in project.actions.values():
        assert f"{action.name} (" in described.group(1)
    placed = columns(_as_drawn(yaml.parent))
    assert all(placed[n] < placed[a.name] for a in project.actions.values() for n in a.needs)


def test_names_are_escaped_and_shortened_in_the_box_not_in_its_title() -> None:
    long = "a" * 40
    pipeline = Pipeline(
        (
            PipelineAction("<b>", "python x.py", (), (), False),
            PipelineAction(long, "python y.py", ("<b>",), (), True),
        )
    )
    drawn = str(draw(pipeline, "Title & more"))
    assert "<b>" not in drawn and "&lt;b&gt;" in drawn and "Title &amp; more" in drawn
    assert f"<title>{long}: python y.py</title>" in drawn and f">{long}<" not in drawn
