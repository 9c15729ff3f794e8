"""The dashboard's stylesheet: a small one of our own following the NHS.UK design system's
colours and type scale (service.nhs.uk/design-system/styles), inlined so the page is one file
that works offline. Written here rather than vendored from ``nhsuk-frontend`` to keep the page
small and free of scripts.

Signal colours are the darker NHS.UK shades, not the Making Data Count chart colours, because
they carry text: each passes 4.5:1 on white (checked in the tests), and every icon on the page
also says its meaning in words. Charts and icons use the accessible SPC palette of
:mod:`fivesafes.stats.palette`, whose colours reach 3:1 on white and on this page's background
(which is why the two backgrounds are defined there).
"""

from __future__ import annotations

from fivesafes.stats.palette import PAGE_BACKGROUND, WHITE

NHS_BLUE = "#005eb8"
NHS_DARK_BLUE = "#003087"
TEXT = "#212b32"
SECONDARY_TEXT = "#4c6272"
FOCUS = "#ffeb3b"

SIGNAL_COLOURS = {
    "improvement": NHS_BLUE,
    "concern": "#a33b00",
    "neutral": "#490092",
    "common": SECONDARY_TEXT,
}
"""Text colour of each kind of signal in the summary tables."""

STYLESHEET = f"""
*,*::before,*::after{{box-sizing:border-box}}
html{{background:{PAGE_BACKGROUND}}}
body{{margin:0;color:{TEXT};font-family:Frutiger W01,Arial,sans-serif;font-size:1rem;
line-height:1.5}}
@media (min-width:40em){{body{{font-size:1.1875rem}}}}
a{{color:{NHS_BLUE}}} a:visited{{color:#330072}}
a:focus{{background:{FOCUS};color:{TEXT};outline:4px solid transparent;
box-shadow:0 -2px {FOCUS},0 4px {TEXT};text-decoration:none}}
.skip-link{{position:absolute;left:-9999px}}
.skip-link:focus{{left:1rem;top:1rem;padding:.5rem}}
.header{{background:{NHS_BLUE};color:{WHITE};padding:1rem 0}}
.header p{{margin:0;font-weight:600;font-size:1.25rem}}
.width{{max-width:960px;margin:0 auto;padding:0 1rem}}
main{{padding:2rem 0 3rem}}
h1{{font-size:2rem;line-height:1.25;margin:0 0 1.5rem}}
h2{{font-size:1.5rem;line-height:1.3;margin:2.5rem 0 1rem}}
h3{{font-size:1.25rem;margin:2rem 0 .75rem}}
h4{{font-size:1.1875rem;margin:1.5rem 0 .5rem}}
@media (min-width:40em){{h1{{font-size:3rem}}h2{{font-size:2rem}}h3{{font-size:1.5rem}}}}
.lede{{font-size:1.25rem}}
.card{{background:{WHITE};border:1px solid #d8dde0;padding:1.5rem;margin-bottom:2rem}}
table{{border-collapse:collapse;width:100%;background:{WHITE};margin-bottom:1.5rem}}
caption{{text-align:left;font-weight:600;padding-bottom:.5rem}}
th,td{{text-align:left;vertical-align:top;padding:.5rem .75rem .5rem 0;
border-bottom:1px solid #d8dde0}}
th{{font-weight:600}}
figure{{margin:0 0 1.5rem}}
figure img{{max-width:100%;height:auto;border:1px solid #d8dde0;background:{WHITE}}}
figcaption{{color:{SECONDARY_TEXT};font-size:1rem}}
img.icon{{width:48px;height:48px;vertical-align:middle;margin-right:.5rem}}
.signal-improvement{{color:{SIGNAL_COLOURS["improvement"]};font-weight:600}}
.signal-concern{{color:{SIGNAL_COLOURS["concern"]};font-weight:600}}
.signal-neutral{{color:{SIGNAL_COLOURS["neutral"]};font-weight:600}}
.signal-common{{color:{SIGNAL_COLOURS["common"]}}}
.provenance{{font-size:1rem;color:{SECONDARY_TEXT}}}
.provenance dt{{font-weight:600;color:{TEXT}}}
.provenance dd{{margin:0 0 .5rem}}
code{{font-size:.9em;word-break:break-all}}
footer{{background:#d8dde0;padding:1.5rem 0;font-size:1rem;color:{TEXT}}}
"""
