"""Server-rendered SVG charts (pygal), readable and printable, without JavaScript.

Each chart also has a data table in the page (for screen readers) and a CSV download, so
the SVG is marked ``aria-hidden`` and carries a title only.
"""

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(
    background="white", plot_background="white", foreground="#1a1a1a", foreground_strong="#1a1a1a",
    foreground_subtle="#8a8a8a", colors=("#0b5d3b", "#1d4f91", "#a3000b", "#8a6d00", "#5b2c83"),
    font_family="system-ui, Arial, sans-serif", label_font_size=14, major_label_font_size=14,
    legend_font_size=14, title_font_size=16, value_font_size=13,
)


def _config(title: str, **extra) -> dict:
    return dict(title=title, style=STYLE, js=[], disable_xml_declaration=True, width=760, height=360,
                explicit_size=False, show_legend=True, legend_at_bottom=True, print_values=False,
                margin=16, **extra)


def _render(chart) -> Markup:
    svg = chart.render(is_unicode=True)
    return Markup(svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1))


def line_chart(title: str, labels: list[str], series: dict[str, list[float | None]]) -> Markup:
    chart = pygal.Line(**_config(title, x_label_rotation=0, show_minor_x_labels=len(labels) <= 12,
                                 x_labels_major_count=12, truncate_label=-1))
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return _render(chart)


def bar_chart(title: str, labels: list[str], series: dict[str, list[float | None]],
              horizontal: bool = False) -> Markup:
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(**_config(title, truncate_label=-1))
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return _render(chart)
