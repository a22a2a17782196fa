"""Reads of the seats app, scoped to the actor (a customer's main user, an invited user,
or staff through the admin's own querysets).

The seat list and the log answer with a fixed number of queries whatever the number of
seats: the list pages distinct *users* first (an EXISTS over their user subscriptions, so
no DISTINCT and no GROUP BY that SQLite and PostgreSQL would spell differently), then
loads the user subscriptions of that page's users in one more query.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Now
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from seats.models import Invitation, LogEntry, SeatAccount, UserSubscription
from seats.services.seats import RUNNING  # users with running access hold a seat
from subscriptions.models import Customer, Subscription, User

SEATS_PER_PAGE = 50
LOG_PER_PAGE = 50

# The state filter of the seat list: a user is listed under a state when one of their
# user subscriptions is in it; "pending" lists the pending invitations instead.
STATE_PENDING = "pending"
ROW_STATE_ORDER = (
    UserSubscription.State.ACTIVE,
    UserSubscription.State.CANCELLED,
    UserSubscription.State.ENDED,
)


def seat_account_for_customer(*, customer: Customer, public_id: uuid.UUID) -> SeatAccount:
    """The seat account with this public id; 404 unless its subscription is the
    customer's."""
    account = (
        SeatAccount.objects.select_related(
            "subscription__offer", "subscription__corporate_offer", "subscription__customer"
        )
        .filter(public_id=public_id, subscription__customer=customer)
        .first()
    )
    if account is None:
        raise Http404
    return account


def multi_user_subscription_for_customer(
    *, customer: Customer, public_id: uuid.UUID
) -> Subscription:
    """The customer's multi-user or corporate subscription with this public id (whose seat
    account may not exist yet); 404 for anything else."""
    subscription = (
        Subscription.objects.filter(public_id=public_id, customer=customer)
        .filter(
            Q(user_count__gt=0) | Q(corporate_offer__isnull=False) | Q(seat_account__isnull=False)
        )
        .first()
    )
    if subscription is None:
        raise Http404
    return subscription


@dataclass
class SeatRow:
    """One user of a seat account: their user subscriptions (one per product), newest
    running first, and the state of the row (the 'best' of them)."""

    user: User
    user_subscriptions: list[UserSubscription] = field(default_factory=list)

    @property
    def state(self) -> str:
        states = {us.state for us in self.user_subscriptions}
        return next((s for s in ROW_STATE_ORDER if s in states), UserSubscription.State.ENDED)


@dataclass
class SeatCounts:
    taken: int
    maximum: int | None

    @property
    def free(self) -> int | None:
        return None if self.maximum is None else max(self.maximum - self.taken, 0)


@dataclass
class SeatList:
    rows: list[SeatRow]
    page: Page
    invitations: list[Invitation]
    invitations_page: Page | None
    seats: SeatCounts


VIA_LABELS = {
    "invitation": _("by invitation"),
    "staff": _("added by staff"),
    "domain": _("by e-mail domain"),
    "ip_range": _("by IP range"),
    "reactivated": _("reactivated"),
    "cancelled": _("cancelled at period end"),
    "cancelled_now": _("ended at once"),
    "blocked": _("user blocked"),
    "subscription_ended": _("subscription ended"),
}


def via_label(via: str) -> str:
    """How a log entry came about, in words (LogEntry.via holds a code)."""
    return str(VIA_LABELS.get(via, via))


def _search_users(search: str) -> Q:
    search = search.strip()
    if not search:
        return Q()
    query = Q(email__icontains=search) | Q(first_name__icontains=search)
    query |= Q(last_name__icontains=search)
    first, _, last = search.partition(" ")
    if last:
        query |= Q(first_name__icontains=first, last_name__icontains=last.strip())
    return query


def seat_users(*, account: SeatAccount, search: str = "", state: str = "") -> QuerySet[User]:
    """The users holding (or having held) a user subscription of the account, by e-mail."""
    held = UserSubscription.objects.filter(seat_account=account, user=OuterRef("pk"))
    if state in UserSubscription.State.values:
        held = held.filter(state=state)
    return User.objects.filter(Exists(held)).filter(_search_users(search)).order_by("email", "pk")


def pending_invitations(*, account: SeatAccount, search: str = "") -> QuerySet[Invitation]:
    invitations = account.invitations.filter(status=Invitation.Status.PENDING)
    if search.strip():
        term = search.strip()
        invitations = invitations.filter(
            Q(email__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term)
        )
    return invitations.select_related("invited_by").order_by("email", "pk")


def seat_list(
    *,
    account: SeatAccount,
    search: str = "",
    state: str = "",
    page: int | str = 1,
    invitations_page: int | str = 1,
    per_page: int = SEATS_PER_PAGE,
) -> SeatList:
    """One page of users (one row per user with their products and state), one page of
    pending invitations, and the seats taken. A fixed number of queries: one pass over
    the account's user subscriptions counts both the users holding a seat and, for the
    unfiltered list, all users listed (the paginator's count, so it need not count
    again); then the invitations holding a seat; the users paged (and counted when
    filtered); their user subscriptions; the invitations counted and paged (not when
    the filter asks for a user state)."""
    totals = UserSubscription.objects.filter(seat_account=account).aggregate(
        listed=Count("user_id", distinct=True),
        running=Count("user_id", distinct=True, filter=Q(state__in=RUNNING)),
    )
    held = account.invitations.filter(status=Invitation.Status.PENDING, expires_at__gt=Now())
    seats = SeatCounts(taken=totals["running"] + held.count(), maximum=account.maximum_users)
    if state == STATE_PENDING:
        users = User.objects.none()
    else:
        users = seat_users(account=account, search=search, state=state)
    paginator = Paginator(users, per_page)
    if not search.strip() and not state:
        paginator.count = totals["listed"]  # a cached_property: no second count
    first = None
    if (search.strip() or state) and str(page) == "1":
        # A search usually finds less than a page: fetch one row more than a page;
        # when that is all, the count and the page are known in one query.
        first = list(users[: per_page + 1])
        if len(first) <= per_page:
            paginator.count = len(first)
        else:
            first = None
    user_page = paginator.get_page(page)
    if first is not None:
        user_page.object_list = first
    page_users = list(user_page.object_list)
    rows = {user.pk: SeatRow(user=user) for user in page_users}
    if rows:
        accesses = (
            UserSubscription.objects.filter(seat_account=account, user_id__in=list(rows))
            .select_related("product")
            .order_by("product__name", "-started_at", "-pk")
        )
        for user_subscription in accesses:
            rows[user_subscription.user_id].user_subscriptions.append(user_subscription)
        for row in rows.values():
            running = {us.product_id for us in row.user_subscriptions if us.state in RUNNING}
            for us in row.user_subscriptions:
                us.can_reactivate = us.state == "ended" and us.product_id not in running
    invitations: list[Invitation] = []
    inv_page = None
    if state in ("", STATE_PENDING):
        inv_page = Paginator(pending_invitations(account=account, search=search), per_page)
        inv_page = inv_page.get_page(invitations_page)
        invitations = list(inv_page.object_list)
    return SeatList(
        rows=list(rows.values()),
        page=user_page,
        invitations=invitations,
        invitations_page=inv_page,
        seats=seats,
    )


def log_entries(
    *,
    account: SeatAccount,
    user_search: str = "",
    product=None,
    action: str = "",
    since: datetime.date | datetime.datetime | None = None,
    until: datetime.date | datetime.datetime | None = None,
) -> QuerySet[LogEntry]:
    """The account's subscription log, newest first, filtered. `since`/`until` are
    inclusive dates (or moments); `product` a Product or its id."""
    entries = LogEntry.objects.filter(seat_account=account)
    if user_search.strip():
        term = user_search.strip()
        entries = entries.filter(
            Q(user__email__icontains=term)
            | Q(user__first_name__icontains=term)
            | Q(user__last_name__icontains=term)
        )
    if product:
        entries = entries.filter(product=product)
    if action:
        entries = entries.filter(action=action)
    if since:
        entries = entries.filter(at__date__gte=_as_date(since))
    if until:
        entries = entries.filter(at__date__lte=_as_date(until))
    return entries.select_related("user", "product", "actor").order_by("-at", "-pk")


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def log_products(*, account: SeatAccount):
    """The products that appear in the account's log or user subscriptions (the log
    page's product filter)."""
    from catalog.models import Product

    return Product.objects.filter(
        Exists(LogEntry.objects.filter(seat_account=account, product=OuterRef("pk")))
    ).order_by("name")


def user_subscriptions_for_user(*, user: User) -> QuerySet[UserSubscription]:
    """The access the signed-in user was given (any account), running first."""
    return (
        UserSubscription.objects.filter(user=user)
        .select_related(
            "product",
            "seat_account__subscription__offer",
            "seat_account__subscription__corporate_offer",
            "seat_account__subscription__customer",
        )
        .order_by("state", "product__name", "-started_at")
    )


def user_subscription_for_account(
    *, account: SeatAccount, public_id: uuid.UUID
) -> UserSubscription:
    user_subscription = (
        UserSubscription.objects.select_related("user", "product")
        .filter(seat_account=account, public_id=public_id)
        .first()
    )
    if user_subscription is None:
        raise Http404
    return user_subscription


def user_subscription_for_user(*, user: User, public_id: uuid.UUID) -> UserSubscription:
    user_subscription = (
        UserSubscription.objects.select_related("product", "seat_account")
        .filter(user=user, public_id=public_id)
        .first()
    )
    if user_subscription is None:
        raise Http404
    return user_subscription


def invitation_for_account(*, account: SeatAccount, public_id: uuid.UUID) -> Invitation:
    invitation = account.invitations.filter(public_id=public_id).first()
    if invitation is None:
        raise Http404
    return invitation
