"""Server-rendered SVG charts (pygal) for the insights page: no JavaScript, no CDN.

pygal builds the SVG as an element tree, so every label is escaped when it is serialised; we drop
its <script> elements (the link to its interactive script on the internet and an inline config), so
the charts are static images. The page shows the same figures as tables too."""

from __future__ import annotations

from xml.etree import ElementTree

import pygal
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(
    background="white", plot_background="white", foreground="#1b1b1b", foreground_strong="#1b1b1b", foreground_subtle="#555",
    font_family="system-ui, sans-serif", label_font_size=13, major_label_font_size=13, legend_font_size=13, title_font_size=16,
    value_font_size=12, tooltip_font_size=12,
    colors=("#1f5fa8", "#d9822b", "#2e8540", "#b8336a", "#6b4ea0", "#8a6d3b", "#00829b", "#555555"),
)
COMMON = dict(style=STYLE, js=[], disable_xml_declaration=True, legend_at_bottom=True, print_values=False, width=820, height=360,
              show_y_guides=True, truncate_legend=40, truncate_label=40)


def _render(chart) -> Markup:
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    # ElementTree escapes all text and attribute values it serialises
    return Markup(ElementTree.tostring(tree, encoding="unicode"))


def stacked_weeks(title: str, weeks: list[str], series: dict[str, list[int]]) -> Markup:
    chart = pygal.StackedBar(title=title, x_label_rotation=30, **COMMON)
    chart.x_labels = weeks
    for name, values in series.items():
        chart.add(name, values)
    chart.no_data_text = _("No leads in this period")
    return _render(chart)


def answer_rates(rates: dict[str, tuple[int, int]], names: dict[str, str]) -> Markup:
    chart = pygal.Bar(title=_("Share of questions answered, by language (%)"), range=(0, 100), show_legend=False, **COMMON)
    chart.x_labels = [names.get(lang, lang) for lang in rates]
    chart.add("answered %", [round(100 * a / t) if t else 0 for a, t in rates.values()])
    chart.no_data_text = _("No chat turns in this period")
    return _render(chart)


def unanswered(questions: list[tuple[str, int]]) -> Markup:
    chart = pygal.HorizontalBar(title=_("Most frequent unanswered questions"), show_legend=False,
                                **{**COMMON, "height": 120 + 32 * max(len(questions), 1), "truncate_label": 60})
    top = list(reversed(questions[:10]))
    chart.x_labels = [q for q, _ in top]
    chart.add("times asked", [n for _, n in top])
    chart.no_data_text = _("No unanswered questions in this period")
    return _render(chart)
