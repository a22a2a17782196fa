"""Helpers for the usage and billing-run tests: corporate subscriptions made by the real
service, and user access written as the seats services write it (a user subscription
with its STARTED and, once it ended, ENDED log rows) at chosen instants."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from seats.models import LogEntry, SeatAccount, UserSubscription
from seats.services.seats import seat_account_for_subscription
from subscriptions.models import Subscription
from subscriptions.services.corporate import corporate_subscription_create
from tests.factories import CorporateOfferFactory
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import CustomerFactory

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def corporate_subscription(
    *, contracts, started_at: datetime, customer=None, structure=None
) -> tuple[Subscription, SeatAccount]:
    """A corporate subscription to an offer of `contracts`, started at `started_at`,
    with its seat account."""
    kwargs = {"contracts": contracts}
    if structure:
        kwargs["structure"] = structure
    elif len(contracts) > 1:
        kwargs["structure"] = "individual_products"
    offer = CorporateOfferFactory(**kwargs)
    if customer is None:
        customer = CustomerFactory(company=True)
        main_user = UserFactory(customer=customer)
        customer.main_user = main_user
        customer.save(update_fields=["main_user"])
    subscription = corporate_subscription_create(
        customer=customer, corporate_offer=offer, starts_at=started_at, now=started_at
    )
    account = seat_account_for_subscription(subscription=subscription)
    return subscription, account


def access(
    account: SeatAccount, user, product, started: datetime, ended: datetime | None = None
) -> UserSubscription:
    """One user subscription from `started` to `ended` (None: still running), logged."""
    state = UserSubscription.State.ENDED if ended else UserSubscription.State.ACTIVE
    user_subscription = UserSubscription.objects.create(
        seat_account=account,
        user=user,
        product=product,
        state=state,
        started_at=started,
        ends_at=ended,
        ended_at=ended,
    )
    rows = [(LogEntry.Action.STARTED, started)] + (
        [(LogEntry.Action.ENDED, ended)] if ended else []
    )
    for action, at in rows:
        LogEntry.objects.create(
            seat_account=account,
            user_subscription=user_subscription,
            user=user,
            product=product,
            action=action,
            at=at,
        )
    return user_subscription
