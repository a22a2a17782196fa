"""Server-rendered SVG charts of report tables: grouped bars, lines, horizontal bars.

Pure functions of a `Table` (no database), built like `billing.charts` — ElementTree
(every text escaped), presentation attributes and classes, never `style=` or a
`<style>` element — so they pass the strict Content-Security-Policy inline in the page
and need no JavaScript. The numbers are in the accessible table beside each chart; the
SVG carries a title and per-mark tooltips (`<title>`) as well.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from xml.etree import ElementTree as ET

from babel.dates import format_date
from babel.numbers import format_decimal

from billing.charts import (
    CHAR_WIDTH,
    FONT,
    GRID,
    INK,
    MUTED,
    _line,
    _n,
    _nice_step,
    _serialise,
    _text,
)
from catalog.money import format_money

from .table import Column, Table

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 84, WIDTH - 16, 44, HEIGHT - 36
# Distinguishable for the common colour-vision deficiencies (Okabe-Ito), dark enough
# on white for the 3:1 contrast of graphical objects.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
LABEL_CHARS = 24  # category labels of horizontal bars are cut to this


def format_cell(value, column: Column, *, currency: str, locale: str) -> str:
    """A table cell as people read it in `locale` (money, counts, months)."""
    if value is None:
        return "\N{EN DASH}"
    if column.kind == "money":
        return format_money(Decimal(value), currency, locale)
    if column.kind == "count":
        return format_decimal(value, locale=locale)
    if column.kind == "month":
        return month_label(value, locale)
    if column.kind == "date":
        return format_date(value, "medium", locale=locale)
    return str(value)


def month_label(month: date, locale: str) -> str:
    return format_date(month, "MMM yyyy", locale=locale)


def render(
    table: Table, *, kind: str, series: tuple[str, ...], title: str, chart_id: str, locale: str
) -> str:
    """The SVG (text) of `series` (column keys) of `table` as `kind` ("bars", "lines",
    "hbars"); `chart_id` makes the element ids unique on a page of several charts."""
    svg = _root(title, chart_id)
    columns = [table.columns[table.column(key)] for key in series]
    if not table.rows:
        _text(
            svg, WIDTH // 2, HEIGHT // 2, _no_data(), "chart-message", fill=MUTED, anchor="middle"
        )
        return _serialise(svg)
    _legend(svg, columns)
    values = [[Decimal(v or 0) for v in table.values(key)] for key in series]
    labels = [
        format_cell(row[0], table.columns[0], currency=table.currency, locale=locale)
        for row in table.rows
    ]
    scale = _Scale(values, columns[0], table.currency, locale)
    if kind == "hbars":
        _HorizontalBars(svg, scale).draw(labels, columns, values)
    else:
        scale.draw_value_axis(svg)
        _category_axis(svg, labels)
        if kind == "lines":
            _lines(svg, scale, labels, columns, values)
        else:
            _bars(svg, scale, labels, columns, values)
    return _serialise(svg)


def _no_data() -> str:
    from django.utils.translation import gettext

    return gettext("No data to show")


def _root(title: str, chart_id: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": "report-chart",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "width": str(WIDTH),
            "height": str(HEIGHT),
            "role": "img",
            "aria-labelledby": f"{chart_id}-title",
            "font-family": FONT,
            "font-size": "11",
            "fill": INK,
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "rect", {"width": "100%", "height": "100%", "fill": "#ffffff"})
    return svg


def _legend(svg: ET.Element, columns: list[Column]) -> None:
    x = LEFT
    for index, column in enumerate(columns):
        colour = COLOURS[index % len(COLOURS)]
        box = {"x": _n(x), "y": "14", "width": "10", "height": "10", "fill": colour}
        ET.SubElement(svg, "rect", {"class": "chart-legend-key", **box})
        _text(svg, x + 14, 23, column.label, "chart-legend", fill=INK)
        x += 34 + 6 * len(column.label)


class _Scale:
    """The value axis: from min(0, lowest) to max(0, highest) in round steps."""

    def __init__(self, values: list[list[Decimal]], column: Column, currency: str, locale: str):
        flat = [v for series in values for v in series]
        low, high = min([Decimal(0), *flat]), max([Decimal(0), *flat])
        span = (high - low) or Decimal(1)
        self.step = _nice_step(span, 4)
        if column.kind == "count":
            self.step = max(self.step, Decimal(1))
        self.low = (low / self.step).to_integral_value(ROUND_FLOOR) * self.step
        self.high = (high / self.step).to_integral_value(ROUND_CEILING) * self.step
        if self.high == self.low:
            self.high = self.low + self.step
        self.column, self.currency, self.locale = column, currency, locale

    def fraction(self, value: Decimal) -> Decimal:
        return (value - self.low) / (self.high - self.low)

    def y(self, value: Decimal) -> Decimal:
        return BOTTOM - (BOTTOM - TOP) * self.fraction(value)

    def label(self, value: Decimal) -> str:
        if self.column.kind == "money":
            whole = self.step == self.step.to_integral_value()
            text = format_money(value, self.currency, self.locale)
            return _drop_cents(text) if whole else text
        return format_decimal(value, locale=self.locale)

    def ticks(self) -> list[Decimal]:
        ticks, value = [], self.low
        while value <= self.high:
            ticks.append(value)
            value += self.step
        return ticks

    def draw_value_axis(self, svg: ET.Element) -> None:
        for value in self.ticks():
            y = self.y(value)
            stroke = MUTED if value == 0 else GRID
            _line(svg, LEFT, y, RIGHT, y, "chart-grid", stroke=stroke)
            _text(
                svg,
                LEFT - 6,
                y + 4,
                self.label(value),
                "chart-tick-label",
                fill=MUTED,
                anchor="end",
            )


def _drop_cents(text: str) -> str:
    """ "€1,200.00" → "€1,200", "1.200,00 €" → "1.200 €" (axis ticks on whole amounts)."""
    for decimals in (".00", ",00"):
        text = text.replace(decimals, "")
    return text


def _slot(count: int) -> Decimal:
    return Decimal(RIGHT - LEFT) / count


def _category_axis(svg: ET.Element, labels: list[str]) -> None:
    """Labels under the plot, thinned out so they never overlap."""
    slot = _slot(len(labels))
    every = max(1, -(-len(labels) * 60 // (RIGHT - LEFT)))  # about 60 px a label
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = LEFT + slot * index + slot / 2
        for line_number, part in enumerate(_wrap(label, slot * every)):
            y = BOTTOM + 16 + 12 * line_number
            _text(svg, x, y, part, "chart-tick-label", fill=MUTED, anchor="middle")


def _wrap(label: str, width: Decimal) -> list[str]:
    """A label too wide for `width` pixels on two lines, split at the space nearest its
    middle (bucket names such as "Overdue 31-60 days")."""
    if Decimal(len(label)) * CHAR_WIDTH <= width or " " not in label:
        return [label]
    middle = len(label) // 2
    spaces = [i for i, c in enumerate(label) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - middle))
    return [label[:cut], label[cut + 1 :]]


def _point_x(index: int, labels: list[str]) -> Decimal:
    slot = _slot(len(labels))
    return LEFT + slot * index + slot / 2


def _bars(svg, scale: _Scale, labels, columns, values) -> None:
    slot = _slot(len(labels))
    width = slot * Decimal("0.8") / len(columns)
    zero = scale.y(Decimal(0))
    for s, (column, series) in enumerate(zip(columns, values, strict=True)):
        for index, value in enumerate(series):
            x = LEFT + slot * index + slot * Decimal("0.1") + width * s
            y = scale.y(value)
            top, height = min(y, zero), abs(zero - y)
            attributes = {"x": _n(x), "y": _n(top), "width": _n(width), "height": _n(height)}
            bar = ET.SubElement(
                svg, "rect", {"class": "chart-bar", **attributes, "fill": COLOURS[s % len(COLOURS)]}
            )
            ET.SubElement(bar, "title").text = f"{labels[index]} · {column.label}: " + scale.label(
                value
            )


def _lines(svg, scale: _Scale, labels, columns, values) -> None:
    for s, (column, series) in enumerate(zip(columns, values, strict=True)):
        colour = COLOURS[s % len(COLOURS)]
        points = [(_point_x(i, labels), scale.y(v)) for i, v in enumerate(series)]
        path = "M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in points)
        ET.SubElement(
            svg,
            "path",
            {
                "class": "chart-line",
                "d": path,
                "fill": "none",
                "stroke": colour,
                "stroke-width": "2",
            },
        )
        for index, (x, y) in enumerate(points):
            dot = ET.SubElement(
                svg,
                "circle",
                {"class": "chart-point", "cx": _n(x), "cy": _n(y), "r": "3", "fill": colour},
            )
            ET.SubElement(
                dot, "title"
            ).text = f"{labels[index]} · {column.label}: {scale.label(series[index])}"


class _HorizontalBars:
    """Categories down the left (names of accounts, campaigns), values to the right."""

    def __init__(self, svg: ET.Element, scale: _Scale) -> None:
        self.svg, self.scale = svg, scale
        self.left = Decimal(LEFT + 80)

    def x(self, value: Decimal) -> Decimal:
        return self.left + (RIGHT - self.left) * self.scale.fraction(value)

    def draw(self, labels: list[str], columns: list[Column], values) -> None:
        for value in self.scale.ticks():
            x = self.x(value)
            _line(self.svg, x, TOP, x, BOTTOM, "chart-grid", stroke=GRID)
            _text(
                self.svg,
                x,
                BOTTOM + 16,
                self.scale.label(value),
                "chart-tick-label",
                fill=MUTED,
                anchor="middle",
            )
        slot = Decimal(BOTTOM - TOP) / len(labels)
        height = min(slot * Decimal("0.8") / len(columns), Decimal(14))
        for index, label in enumerate(labels):
            y = TOP + slot * index
            short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
            _text(self.svg, self.left - 6, y + slot / 2 + 4, short, "chart-category", anchor="end")
            for s, (column, series) in enumerate(zip(columns, values, strict=True)):
                top = y + (slot - height * len(columns)) / 2 + height * s
                start, end = sorted((self.x(Decimal(0)), self.x(series[index])))
                attributes = {
                    "x": _n(start),
                    "y": _n(top),
                    "width": _n(end - start),
                    "height": _n(height),
                    "fill": COLOURS[s % len(COLOURS)],
                }
                bar = ET.SubElement(self.svg, "rect", {"class": "chart-bar", **attributes})
                ET.SubElement(
                    bar, "title"
                ).text = f"{label} · {column.label}: {self.scale.label(series[index])}"
