"""A study's ``project.yaml`` drawn as a pipeline: server-side SVG, with no script.

Each action is a box, placed in the column after the furthest of the actions it needs, so
every arrow (from a needed action to the action needing it) points right; an arrow to the next
column runs between the boxes' sides, one that skips columns arcs over the boxes between, from
the top of one box to the top of the other. The drawing is an
image with its own title and a description saying in words what it shows; the page puts the
same actions, needs and outputs in a table beside it, for anyone who cannot see the drawing.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from fivesafes.environment.library import Pipeline, PipelineAction

BOX_WIDTH, BOX_HEIGHT = 232, 60
COLUMN_GAP, ROW_GAP, MARGIN = 64, 24, 8
ARC = 40
"""How far above the boxes an arrow that skips a column is drawn, so it passes over them."""
NAME_CHARACTERS = 24
"""How much of an action's name fits in its box; the whole name is in the box's own title."""
INK, EDGE, STORE, PAPER = "#212b32", "#4c6272", "#005eb8", "#ffffff"
"""NHS.UK text, secondary and blue colours: each at least 4.5:1 against white."""


def columns(pipeline: Pipeline) -> dict[str, int]:
    """Each action's column: 0 for an action that needs none, else one after its furthest
    need (``project.yaml`` has no cycle: it is checked before it is drawn)."""
    placed: dict[str, int] = {}
    actions = {a.name: a for a in pipeline.actions}

    def column(name: str) -> int:
        if name not in placed:
            needs = [n for n in actions[name].needs if n in actions]
            placed[name] = 1 + max((column(n) for n in needs), default=-1)
        return placed[name]

    for action in pipeline.actions:
        column(action.name)
    return placed


def _what(action: PipelineAction) -> str:
    made = len(action.outputs)
    said = "reads the data; " if action.reads_store else ""
    return f"{said}writes {made} file{'' if made == 1 else 's'}"


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARACTERS else name[: NAME_CHARACTERS - 1] + "…"


def description(pipeline: Pipeline) -> str:
    """The drawing in words: each action and what it needs."""
    said = []
    for action in pipeline.actions:
        needs = ", ".join(action.needs) if action.needs else "nothing before it"
        said.append(f"{action.name} ({_what(action)}) needs {needs}.")
    return f"{len(pipeline.actions)} actions. " + " ".join(said)


def draw(pipeline: Pipeline, title: str) -> Markup:
    """The pipeline as an inline SVG image titled ``title``."""
    placed = columns(pipeline)
    skips = any(placed[a.name] - placed[n] > 1 for a in pipeline.actions for n in a.needs)
    top = MARGIN + (ARC if skips else 0)
    rows: dict[int, int] = {}
    where: dict[str, tuple[int, int]] = {}
    for action in pipeline.actions:
        column = placed[action.name]
        row = rows.get(column, 0)
        rows[column] = row + 1
        x = MARGIN + column * (BOX_WIDTH + COLUMN_GAP)
        where[action.name] = (x, top + row * (BOX_HEIGHT + ROW_GAP))
    width = MARGIN * 2 + (max(placed.values(), default=0) + 1) * (BOX_WIDTH + COLUMN_GAP)
    height = top + MARGIN + max(rows.values(), default=1) * (BOX_HEIGHT + ROW_GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="portal-pipeline" role="img" '
        f'width="{width - COLUMN_GAP}" height="{height - ROW_GAP}" '
        f'viewBox="0 0 {width - COLUMN_GAP} {height - ROW_GAP}" '
        f'aria-labelledby="pipeline-title pipeline-desc">',
        f'<title id="pipeline-title">{escape(title)}</title>',
        f'<desc id="pipeline-desc">{escape(description(pipeline))}</desc>',
        '<defs><marker id="pipeline-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{EDGE}"/></marker></defs>',
    ]
    for need, needing in pipeline.edges:
        if need not in where:
            continue
        (x1, y1), (x2, y2) = where[need], where[needing]
        if placed[needing] - placed[need] > 1:  # over the boxes between, top to top
            start, end = (x1 + BOX_WIDTH // 2, y1), (x2 + BOX_WIDTH // 2, y2 - 2)
            up = min(y1, y2) - ARC
            curve = f"C {start[0]} {up}, {end[0]} {up}, {end[0]} {end[1]}"
        else:  # side to side
            start, end = (x1 + BOX_WIDTH, y1 + BOX_HEIGHT // 2), (x2 - 2, y2 + BOX_HEIGHT // 2)
            middle = (start[0] + end[0]) // 2
            curve = f"C {middle} {start[1]}, {middle} {end[1]}, {end[0]} {end[1]}"
        parts.append(
            f'<path class="portal-pipeline__edge" data-from="{escape(need)}" '
            f'data-to="{escape(needing)}" fill="none" stroke="{EDGE}" stroke-width="2" '
            f'd="M {start[0]} {start[1]} {curve}" marker-end="url(#pipeline-arrow)"/>'
        )
    for action in pipeline.actions:
        x, y = where[action.name]
        colour = STORE if action.reads_store else EDGE
        parts.append(
            f'<g class="portal-pipeline__action" data-action="{escape(action.name)}">'
            f"<title>{escape(action.name)}: {escape(action.run)}</title>"
            f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="4" '
            f'fill="{PAPER}" stroke="{colour}" stroke-width="{3 if action.reads_store else 2}"/>'
            f'<text x="{x + 12}" y="{y + 25}" fill="{INK}" font-size="16" font-weight="bold" '
            f'font-family="Frutiger W01, Arial, sans-serif">{escape(_short(action.name))}</text>'
            f'<text x="{x + 12}" y="{y + 46}" fill="{INK}" font-size="14" '
            f'font-family="Frutiger W01, Arial, sans-serif">{escape(_what(action))}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
