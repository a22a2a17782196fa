"""The dashboard's filters and the SQL they add to a figure's query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from reports.table import months_between, next_month, previous_month


@dataclass(frozen=True)
class Filters:
    """Months `first_month`..`last_month` (first days, inclusive) on the merchant's
    clock; money in `currency`; optionally only subscriptions that include
    `product_id` or whose corporate contracts carry reporting tag `tag_id`."""

    first_month: date
    last_month: date
    currency: str
    now: datetime
    product_id: int | None = None
    tag_id: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(settings.TIME_ZONE)

    @property
    def start(self) -> datetime:
        """The first month's first instant (aware, merchant's clock)."""
        return datetime.combine(self.first_month, datetime.min.time(), self.zone)

    @property
    def end(self) -> datetime:
        """The instant after the last month (exclusive)."""
        return datetime.combine(next_month(self.last_month), datetime.min.time(), self.zone)

    @property
    def months(self) -> list[date]:
        return months_between(self.first_month, self.last_month)

    def bounds(self) -> list[datetime]:
        """The first instant of every month and the end: SQL's `width_bucket` puts an
        instant in month k (1-based) of these, 0 before them."""
        return [
            datetime.combine(month, datetime.min.time(), self.zone)
            for month in [*self.months, next_month(self.last_month)]
        ]

    def month_of(self, bucket: int) -> date:
        """The month of a `width_bucket` answer (0: the month before the first)."""
        return self.months[bucket - 1] if bucket else previous_month(self.first_month)

    def params(self) -> dict:
        return {
            "bounds": self.bounds(),
            "start": self.start,
            "end": self.end,
            "before": previous_month(self.first_month),
            "first": self.first_month,
            "currency": self.currency,
            "product": self.product_id,
            "tag": self.tag_id,
            "now": self.now,
            "tz": settings.TIME_ZONE,
        }


def subscription_filter(filters: Filters, alias: str = "s") -> str:
    """SQL (`AND …`) keeping the subscriptions `alias` that match the product and tag
    filters: a subscription includes a product through its items (corporate ones list
    every product of their contracts); a tag sits on a corporate offer's contracts."""
    sql = ""  # constant SQL fragments; the values are query parameters
    if filters.product_id is not None:
        sql += f"""
 AND EXISTS (SELECT 1 FROM subscriptions_subscriptionitem fi
             WHERE fi.subscription_id = {alias}.id AND fi.product_id = %(product)s)"""  # noqa: S608
    if filters.tag_id is not None:
        sql += f"""
 AND EXISTS (SELECT 1 FROM catalog_corporateoffercontract fo
             JOIN catalog_corporatecontract_reporting_tags ft
               ON ft.corporatecontract_id = fo.contract_id
             WHERE fo.offer_id = {alias}.corporate_offer_id AND ft.reportingtag_id = %(tag)s)"""  # noqa: S608
    return sql


def invoice_filter(filters: Filters, alias: str = "i") -> str:
    """SQL (`AND …`) keeping invoices `alias` in the currency and, with a product or
    tag filter, of a matching subscription (one-off invoices then drop out)."""
    sql = f" AND {alias}.currency = %(currency)s"
    extra = subscription_filter(filters, "fs")
    if extra:
        sql += f"""
 AND {alias}.subscription_id IN (SELECT fs.id FROM subscriptions_subscription fs
                                 WHERE true {extra})"""  # noqa: S608
    return sql
