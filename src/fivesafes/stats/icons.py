"""Making Data Count variation and assurance icons, drawn with matplotlib.

The icons are drawn (not copied from any icon set): a white disc with a coloured ring and a
mark inside. Variation icons: grey ring and a flat line of dots for common cause; a blue
(improvement), orange (concern) or purple (neutral) ring with the letter H or L saying on which
side of the mean the latest signal is. Assurance icons: blue ring with P (the target will be
met consistently), orange ring with F (it will consistently fail), grey ring with a question
mark (hit or miss). :func:`write_icon` writes one icon to PNG or SVG for dashboards.

The colours are the accessible variants of :mod:`fivesafes.stats.palette` (3:1 or more on
white and on the dashboard background) unless ``colours=MDC_COLOURS`` asks for the published
Making Data Count ones.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from fivesafes.stats.palette import COLOURS, SpcColours
from fivesafes.stats.spc_model import AssuranceIcon, VariationIcon

_VARIATION_STYLE: dict[VariationIcon, tuple[str, str, str]] = {
    VariationIcon.COMMON_CAUSE: ("common_cause", "", "Common cause variation"),
    VariationIcon.IMPROVEMENT_HIGH: ("improvement", "H", "Special cause: improvement, high"),
    VariationIcon.IMPROVEMENT_LOW: ("improvement", "L", "Special cause: improvement, low"),
    VariationIcon.CONCERN_HIGH: ("concern", "H", "Special cause: concern, high"),
    VariationIcon.CONCERN_LOW: ("concern", "L", "Special cause: concern, low"),
    VariationIcon.NEUTRAL_HIGH: ("neutral", "H", "Special cause: neither, high"),
    VariationIcon.NEUTRAL_LOW: ("neutral", "L", "Special cause: neither, low"),
}
"""Each icon's palette colour (an SpcColours field), its letter and its meaning."""

_ASSURANCE_STYLE: dict[AssuranceIcon, tuple[str, str, str]] = {
    AssuranceIcon.PASS: ("improvement", "P", "Target consistently met"),
    AssuranceIcon.FAIL: ("concern", "F", "Target consistently missed"),
    AssuranceIcon.HIT_OR_MISS: ("common_cause", "?", "Target hit or miss"),
}


def _style(icon: VariationIcon | AssuranceIcon) -> tuple[str, str, str]:
    if isinstance(icon, VariationIcon):
        return _VARIATION_STYLE[icon]
    return _ASSURANCE_STYLE[icon]


def icon_colour(icon: VariationIcon | AssuranceIcon, colours: SpcColours = COLOURS) -> str:
    """The colour ``icon`` is drawn in with the palette ``colours``."""
    return str(getattr(colours, _style(icon)[0]))


def icon_description(icon: VariationIcon | AssuranceIcon) -> str:
    """The words an icon stands for (used for alt text and tooltips)."""
    return _style(icon)[2]


def draw_icon(ax: Axes, icon: VariationIcon | AssuranceIcon, colours: SpcColours = COLOURS) -> None:
    """Draw ``icon`` filling ``ax`` (which is switched to an equal, axis-less unit square)."""
    colour, letter = icon_colour(icon, colours), _style(icon)[1]
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(Circle((0.5, 0.5), 0.42, facecolor="white", edgecolor=colour, linewidth=4))
    if icon is VariationIcon.COMMON_CAUSE:
        xs = [0.25, 0.375, 0.5, 0.625, 0.75]
        ys = [0.5, 0.56, 0.46, 0.54, 0.5]
        ax.plot(xs, ys, color=colour, linewidth=1.5)
        ax.scatter(xs, ys, s=30, color=colour, zorder=3)
    else:
        ax.text(0.5, 0.5, letter, ha="center", va="center", fontsize=26, fontweight="bold",
                color=colour)  # fmt: skip


def write_icon(
    icon: VariationIcon | AssuranceIcon,
    path: str | Path,
    size_inches: float = 0.8,
    colours: SpcColours = COLOURS,
) -> Path:
    """Write one icon as PNG or SVG (chosen by the file suffix) and return the path."""
    out = Path(path)
    if out.suffix.lower() not in {".png", ".svg"}:
        raise ValueError(f"{out}: icons are written as .png or .svg")
    fig = Figure(figsize=(size_inches, size_inches))
    ax = fig.add_axes((0, 0, 1, 1))
    draw_icon(ax, icon, colours)
    # the title travels in the file's metadata so screen readers and dashboards can name it
    fig.savefig(out, dpi=100, transparent=True, metadata={"Title": icon_description(icon)})
    return out
