"""factory-boy factories for customer accounts and subscriptions, shared by the suite.

`SubscriptionFactory` builds what the purchase service would: what was sold copied from
the offer, the term's values snapshotted, the first billing period and the commitment
computed on the merchant's wall clock from `started_at`. Fixed amounts, fixed dates:

    SubscriptionFactory()                                # monthly 9.90 EUR, no term
    SubscriptionFactory(term=TermFactory(with_penalty=True), started_at=STARTED_AT)
    SubscriptionFactory(offer=OfferFactory(single_product=True))  # one-time purchase
    SubscriptionFactory(cancelled=True)                  # ends at the current period end
    SubscriptionFactory(ended=True)

`term` defaults to the offer's effective term; pass one to override it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from catalog.periods import period_bounds
from subscriptions.models import Customer, Subscription
from subscriptions.services.lifecycle import term_values
from subscriptions.terms import commitment_end
from tests.factories import OfferFactory

BERLIN = ZoneInfo("Europe/Berlin")
# 1 January 2027, midnight in Berlin: the default start of a subscription.
STARTED_AT = datetime(2027, 1, 1, tzinfo=BERLIN)


class CustomerFactory(DjangoModelFactory):
    """A person paying in EUR; `company=True` for a company with a VAT id."""

    class Meta:
        model = Customer

    kind = Customer.Kind.PERSON
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    country = "DE"
    language = "en"
    currency = "EUR"

    class Params:
        company = factory.Trait(
            kind=Customer.Kind.COMPANY,
            name=factory.Sequence(lambda n: f"Company {n} GmbH"),
            vat_id="DE123456789",
            # A company's e-invoice needs its postal address (billing.einvoice).
            address_line1="Hafenstraße 1",
            postal_code="20457",
            city="Hamburg",
        )


def _first_period(o) -> tuple[datetime | None, datetime | None]:
    if not o.billing_interval_count:
        return None, None
    anchor = timezone.localtime(o.started_at)
    return period_bounds(anchor, 0, o.billing_interval_count, o.billing_interval_unit)


def _commitment_end(o) -> datetime | None:
    if o.term is None:
        return None
    anchor = timezone.localtime(o.started_at)
    return commitment_end(
        starts_at=anchor,
        term=term_values(o.term),
        interval_count=o.billing_interval_count,
        interval_unit=o.billing_interval_unit,
        anchor=anchor,
    )


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    offer = factory.SubFactory(OfferFactory)
    status = Subscription.Status.ACTIVE
    price_amount = factory.LazyAttribute(lambda o: o.offer.price_amount)
    currency = factory.LazyAttribute(lambda o: o.offer.currency)
    billing_interval_count = factory.LazyAttribute(lambda o: o.offer.billing_interval_count)
    billing_interval_unit = factory.LazyAttribute(lambda o: o.offer.billing_interval_unit)
    user_count = factory.LazyAttribute(lambda o: o.offer.user_count)
    term = factory.LazyAttribute(lambda o: o.offer.effective_term)
    term_snapshot = factory.LazyAttribute(
        lambda o: term_values(o.term).to_snapshot() if o.term is not None else {}
    )
    started_at = STARTED_AT
    commitment_starts_at = factory.LazyAttribute(
        lambda o: o.started_at if o.term is not None else None
    )
    commitment_ends_at = factory.LazyAttribute(_commitment_end)
    current_period_start = factory.LazyAttribute(lambda o: _first_period(o)[0])
    current_period_end = factory.LazyAttribute(lambda o: _first_period(o)[1])
    cancelled_at = None
    ends_at = None
    ended_at = None

    class Params:
        cancelled = factory.Trait(
            status=Subscription.Status.CANCELLED,
            cancelled_at=factory.LazyAttribute(lambda o: o.started_at),
            ends_at=factory.LazyAttribute(lambda o: o.current_period_end or o.started_at),
        )
        ended = factory.Trait(
            status=Subscription.Status.ENDED,
            ended_at=factory.LazyAttribute(lambda o: o.current_period_end or o.started_at),
        )
