"""A server-rendered SVG chart of a contract's price against its user count.

`render_price_chart()` is a pure function of a `PriceSchedule` (no database); the admin
embeds its output with `<img src=…>` (see `billing.views.contract_price_chart`).

The SVG uses presentation attributes (`fill`, `stroke`, …) and classes, never `style=`
or a `<style>` element, so it renders the same as an image and as a document under the
strict Content-Security-Policy. ElementTree builds it, so every text is escaped.

Where the price stays flat over a range of users (packages, stairstep tiers) it is drawn
as steps, the price of *n* users over (n-1, n], so that a jump sits exactly on its tier's
dashed boundary line; elsewhere as a line through the prices of the sampled user counts.
The prices at the tier boundaries and at the end of the range are labelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from xml.etree import ElementTree as ET

from babel import Locale
from babel.numbers import format_currency, format_decimal
from django.utils.translation import gettext, ngettext

from .pricing import PriceSchedule, price

WIDTH, HEIGHT = 640, 340
LEFT, RIGHT, TOP, BOTTOM = 76, WIDTH - 28, 72, HEIGHT - 52  # the plot area
MIN_USERS = 20  # the smallest range worth drawing
MAX_SAMPLES = 200  # sampled user counts, besides the exact tier boundaries

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK, MUTED, GRID, LINE, AREA = "#1f2937", "#6b7280", "#e5e7eb", "#2563eb", "#dbeafe"
HEADROOM = Decimal("1.15")
CHAR_WIDTH = Decimal("6.4")  # rough width of one 11px character, to avoid label overlap


@dataclass(frozen=True, slots=True)
class _Point:
    users: int
    amount: Decimal


def render_price_chart(
    schedule: PriceSchedule,
    *,
    currency: str,
    locale: str = "en",
    maximum_users: int | None = None,
    name: str = "",
) -> str:
    """The SVG document (text) for `schedule`, prices in `currency` shown in `locale`."""
    last_user = chart_range(schedule, maximum_users)
    points = [_Point(n, price(schedule, n)) for n in sample_users(schedule, last_user)]
    chart = _Chart(last_user, max(p.amount for p in points), currency, locale)

    svg = _svg_root(f"{gettext('Price per accounting period')} {name}".strip())
    _text(svg, 16, 26, gettext("Price per accounting period"), "chart-title", size=15, bold=True)
    _text(svg, 16, 46, _summary(schedule, currency, locale), "chart-subtitle", fill=MUTED)
    chart.draw_axes(svg)
    chart.draw_tier_bounds(svg, _bounds_in_users(schedule, last_user))
    chart.draw_price(svg, points, stepped=is_stepped(schedule, last_user))
    label_until = last_user
    if maximum_users is not None and maximum_users < last_user:
        chart.fade_beyond(svg, maximum_users)
        label_until = maximum_users  # no more users can be added
    chart.draw_point(svg, points[0], labelled=False)  # the base fee, named in the subtitle
    labelled = {*_bounds_in_users(schedule, label_until), label_until}
    for point in points:
        if point.users in labelled:
            chart.draw_point(svg, point)
    return _serialise(svg)


def render_message(message: str) -> str:
    """A chart-sized SVG that only says `message` (e.g. no tiers yet)."""
    svg = _svg_root(message)
    ET.SubElement(
        svg,
        "rect",
        {
            "class": "chart-empty",
            "x": "8",
            "y": "8",
            "width": str(WIDTH - 16),
            "height": str(HEIGHT - 16),
            "rx": "8",
            "fill": "#f9fafb",
            "stroke": "#d1d5db",
            "stroke-dasharray": "6 4",
        },
    )
    _text(svg, WIDTH // 2, HEIGHT // 2, message, "chart-message", fill=MUTED, anchor="middle")
    return _serialise(svg)


def chart_range(schedule: PriceSchedule, maximum_users: int | None) -> int:
    """The last user count on the x axis: past the last tier boundary (by half again),
    at least the maximum user count and at least `MIN_USERS`."""
    bounds = [t.up_to * schedule.package_size for t in schedule.tiers if t.up_to is not None]
    past_last_bound = -(-bounds[-1] * 3 // 2) if bounds else 0
    return max(maximum_users or 0, past_last_bound, MIN_USERS)


def sample_users(schedule: PriceSchedule, last_user: int) -> list[int]:
    """User counts to price: evenly spaced (at most ~`MAX_SAMPLES`), plus both sides of
    every tier boundary and, when they are few enough, of every package boundary."""
    stride = -(-last_user // MAX_SAMPLES)
    users = {*range(0, last_user + 1, stride), last_user}
    edges = _bounds_in_users(schedule, last_user)
    if stride > 1 and last_user // schedule.package_size <= MAX_SAMPLES:
        edges += list(range(schedule.package_size, last_user + 1, schedule.package_size))
    for edge in edges:
        users |= {edge, min(edge + 1, last_user)}
    return sorted(users)


def is_stepped(schedule: PriceSchedule, last_user: int) -> bool:
    """Draw steps where the price stays flat over visible ranges (packages wide enough to
    see, or stairstep tiers without unit amounts); elsewhere a line through the prices of
    the sampled user counts, as the price grows by the user."""
    if schedule.strategy == "per_package" and last_user // schedule.package_size <= MAX_SAMPLES:
        return True
    return schedule.mode == "stairstep" and not any(t.unit_amount for t in schedule.tiers)


def _bounds_in_users(schedule: PriceSchedule, last_user: int) -> list[int]:
    size = schedule.package_size
    return [
        t.up_to * size for t in schedule.tiers if t.up_to is not None and t.up_to * size < last_user
    ]


class _Chart:
    """Scales and draws into the plot area."""

    def __init__(self, last_user: int, top_amount: Decimal, currency: str, locale: str) -> None:
        self.last_user = last_user
        self.currency, self.locale = currency, locale
        self.x_step = max(1, int(_nice_step(Decimal(last_user))))
        # Headroom above the highest price keeps its label inside the plot.
        top = top_amount * HEADROOM or Decimal(1)
        self.y_step = max(Decimal("0.01"), _nice_step(top))
        self.y_top = (top / self.y_step).to_integral_value(ROUND_CEILING) * self.y_step
        self.placed: list[tuple[Decimal, Decimal, Decimal]] = []  # labels: left, right, y

    def x(self, users: int | Decimal) -> Decimal:
        return LEFT + (RIGHT - LEFT) * Decimal(users) / self.last_user

    def y(self, amount: Decimal) -> Decimal:
        return BOTTOM - (BOTTOM - TOP) * amount / self.y_top

    def money(self, amount: Decimal, *, whole: bool = False) -> str:
        if whole:  # axis ticks on whole amounts read better without ",00"
            pattern = Locale.parse(self.locale).currency_formats["standard"].pattern
            return format_currency(
                amount,
                self.currency,
                format=pattern.replace("0.00", "0"),
                locale=self.locale,
                currency_digits=False,
            )
        return format_currency(amount, self.currency, locale=self.locale)

    def draw_axes(self, svg: ET.Element) -> None:
        whole = self.y_step == self.y_step.to_integral_value()
        amount = Decimal(0)
        while amount <= self.y_top:
            y = self.y(amount)
            _line(svg, LEFT, y, RIGHT, y, "chart-grid", stroke=GRID)
            label = self.money(amount, whole=whole)
            _text(svg, LEFT - 8, y + 4, label, "chart-tick-label", fill=MUTED, anchor="end")
            amount += self.y_step
        _line(svg, LEFT, BOTTOM, RIGHT, BOTTOM, "chart-axis", stroke=MUTED)
        for users in range(0, self.last_user + 1, self.x_step):
            x = self.x(users)
            _line(svg, x, BOTTOM, x, BOTTOM + 5, "chart-axis", stroke=MUTED)
            label = format_decimal(users, locale=self.locale)
            _text(svg, x, BOTTOM + 18, label, "chart-tick-label", fill=MUTED, anchor="middle")
        label = gettext("Users")
        _text(svg, (LEFT + RIGHT) // 2, HEIGHT - 10, label, "chart-axis-label", anchor="middle")

    def fade_beyond(self, svg: ET.Element, maximum_users: int) -> None:
        """Wash out the user counts past the contract's maximum, and mark the maximum."""
        x = self.x(maximum_users)
        attributes = {"x": _n(x), "y": _n(TOP), "width": _n(RIGHT - x), "height": _n(BOTTOM - TOP)}
        attributes |= {"fill": "#ffffff", "fill-opacity": "0.7"}
        ET.SubElement(svg, "rect", {"class": "chart-over-maximum", **attributes})
        _line(svg, x, TOP, x, BOTTOM, "chart-maximum", stroke=INK, dash="2 2")
        label = gettext("maximum %(count)s") % {
            "count": format_decimal(maximum_users, locale=self.locale)
        }
        _text(svg, x + 5, BOTTOM - 7, label, "chart-maximum-label", size=10)

    def draw_tier_bounds(self, svg: ET.Element, bounds: list[int]) -> None:
        for users in bounds:
            x = self.x(users)
            _line(svg, x, TOP, x, BOTTOM, "chart-tier-bound", stroke="#9ca3af", dash="4 3")
            label = "≤ " + format_decimal(users, locale=self.locale)
            _text(svg, x, TOP - 8, label, "chart-tier-label", fill=MUTED, size=10, anchor="middle")

    def draw_price(self, svg: ET.Element, points: list[_Point], *, stepped: bool) -> None:
        """The price line over a light area. Steps hold the price of n users over
        (n-1, n], so a jump sits on the tier boundary it belongs to."""
        first = points[0]
        path = [f"M{_n(self.x(first.users))} {_n(self.y(first.amount))}"]
        for point in points[1:]:
            x, y = _n(self.x(point.users)), _n(self.y(point.amount))
            path.append(f"V{y}H{x}" if stepped else f"L{x} {y}")
        outline = "".join(path)
        area = f"{outline}V{_n(BOTTOM)}H{_n(self.x(first.users))}Z"
        ET.SubElement(svg, "path", {"class": "chart-area", "d": area, "fill": AREA})
        ET.SubElement(
            svg,
            "path",
            {
                "class": "chart-line",
                "d": outline,
                "fill": "none",
                "stroke": LINE,
                "stroke-width": "2",
                "stroke-linejoin": "round",
            },
        )

    def draw_point(self, svg: ET.Element, point: _Point, *, labelled: bool = True) -> None:
        """A dot with the price as a tooltip and, unless it would overlap another label,
        as a label above and to the left: prices only rise within a tier, so the line
        left of a point never passes above it."""
        x, y = self.x(point.users), self.y(point.amount)
        circle = ET.SubElement(
            svg,
            "circle",
            {"class": "chart-point", "cx": _n(x), "cy": _n(y), "r": "3.5", "fill": LINE},
        )
        circle.attrib.update({"stroke": "#ffffff", "stroke-width": "1.5"})
        ET.SubElement(circle, "title").text = self._point_title(point)
        if not labelled:
            return
        label = self.money(point.amount)
        width, baseline = CHAR_WIDTH * len(label), y - 8
        left = x - 5 - width
        if left < LEFT:  # no room on the left: above and to the right
            left = min(x + 5, RIGHT - width)
        right = left + width
        if any(
            a < right and left < b and abs(baseline - other) < 14 for a, b, other in self.placed
        ):
            return
        self.placed.append((left, right, baseline))
        _text(svg, left, baseline, label, "chart-point-label", fill=INK)

    def _point_title(self, point: _Point) -> str:
        return ngettext("%(count)s user: %(price)s", "%(count)s users: %(price)s", point.users) % {
            "count": format_decimal(point.users, locale=self.locale),
            "price": self.money(point.amount),
        }


def _summary(schedule: PriceSchedule, currency: str, locale: str) -> str:
    modes = {
        "volume": gettext("Volume tiers"),
        "graduated": gettext("Graduated tiers"),
        "stairstep": gettext("Stairstep tiers"),
    }
    if schedule.strategy == "per_package":
        unit = ngettext(
            "per package of %(size)s user",
            "per package of %(size)s users",
            schedule.package_size,
        ) % {"size": format_decimal(schedule.package_size, locale=locale)}
    else:
        unit = gettext("per user")
    fee = gettext("base fee %(amount)s") % {
        "amount": format_currency(schedule.base_fee, currency, locale=locale)
    }
    if len(schedule.tiers) == 1:  # one tier: the tier mode changes nothing
        return f"{unit} · {fee}"
    return f"{modes[schedule.mode]} · {unit} · {fee}"


def _nice_step(span: Decimal, ticks: int = 5) -> Decimal:
    """A round step (1, 2 or 5 times a power of ten) giving about `ticks` intervals."""
    raw = span / ticks
    magnitude = Decimal(1).scaleb(raw.adjusted())
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - raw / magnitude is below 10


def _svg_root(title: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": "price-chart",
            "width": str(WIDTH),
            "height": str(HEIGHT),
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "role": "img",
            "aria-labelledby": "chart-title",
            "font-family": FONT,
            "font-size": "11",
            "fill": INK,
        },
    )
    ET.SubElement(svg, "title", {"id": "chart-title"}).text = title
    ET.SubElement(
        svg,
        "rect",
        {"class": "chart-background", "width": "100%", "height": "100%", "fill": "#ffffff"},
    )
    return svg


def _serialise(svg: ET.Element) -> str:
    return ET.tostring(svg, encoding="unicode", xml_declaration=False)


def _n(value: Decimal | int) -> str:
    """A coordinate with one decimal at most (no floats: pixel maths stays Decimal)."""
    text = str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return text.removesuffix(".0")


def _line(svg, x1, y1, x2, y2, css_class: str, *, stroke: str, dash: str = "") -> None:
    attributes = {"class": css_class, "x1": _n(x1), "y1": _n(y1), "x2": _n(x2), "y2": _n(y2)}
    attributes |= {"stroke": stroke, "stroke-width": "1", "shape-rendering": "crispEdges"}
    if dash:
        attributes["stroke-dasharray"] = dash
    ET.SubElement(svg, "line", attributes)


def _text(
    svg: ET.Element,
    x,
    y,
    text: str,
    css_class: str,
    *,
    fill: str = INK,
    size: int = 11,
    bold: bool = False,
    anchor: str = "start",
) -> None:
    attributes = {"class": css_class, "x": _n(x), "y": _n(y), "fill": fill}
    attributes |= {"font-size": str(size), "text-anchor": anchor}
    if bold:
        attributes["font-weight"] = "600"
    ET.SubElement(svg, "text", attributes).text = text
