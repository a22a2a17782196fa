"""Seats and user subscriptions: who holds a seat, starting, cancelling, ending access.

Concurrency (STYLE.md): every path that takes a seat goes through `_claim_seat`, which
locks the SeatAccount row (`select_for_update`) and counts under that lock, so the maximum
holds under concurrent requests. Lock order everywhere: the SeatAccount row first, then
invitations or user subscriptions. Paths that only free seats (cancel, end, block) take
the account lock too, so they never deadlock with a seat-taking path.

Seats taken = distinct users with a user subscription that has not ended + pending
invitations that have not expired. The main user always has access and takes no seat.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from catalog.models import Product
from notifications.events import EventType, MailType
from notifications.services import Mail, emit
from seats.exceptions import SeatError, SeatsFull
from seats.models import Invitation, LogEntry, SeatAccount, UserSubscription
from subscriptions.models import Subscription, SubscriptionItem, normalize_email

logger = logging.getLogger(__name__)

User = get_user_model()

RUNNING = (UserSubscription.State.ACTIVE, UserSubscription.State.CANCELLED)


class Via:
    """How a user subscription started or ended (LogEntry.via, event payloads)."""

    INVITATION = "invitation"
    STAFF = "staff"
    DOMAIN = "domain"
    IP_RANGE = "ip_range"
    REACTIVATED = "reactivated"
    CANCELLED = "cancelled"
    CANCELLED_NOW = "cancelled_now"
    BLOCKED = "blocked"
    SUBSCRIPTION_ENDED = "subscription_ended"


def absolute_url(viewname: str, *args, **kwargs) -> str:
    """A link for e-mails: setting KONTOR_PUBLIC_URL (the site's public origin) + the
    path of `viewname`."""
    return settings.KONTOR_PUBLIC_URL.rstrip("/") + reverse(viewname, args=args, kwargs=kwargs)


# --- reads -------------------------------------------------------------------------


@transaction.atomic
def seat_account_for_subscription(*, subscription: Subscription) -> SeatAccount:
    """The seat account of a multi-user or corporate subscription, created on first use.

    Multi-user: the user count it was bought with is the maximum. Corporate: the maximum
    user count of its contracts (None = unlimited), as `corporate_subscription_create`
    recorded it in `user_count` when the deal was signed (0 = unlimited), so a later
    contract edit never changes what was signed (SPEC §1). For a bundle that is the
    maximum all its contracts share; for several individual products the smallest one
    set (`subscriptions.services.corporate.corporate_maximum_users` says why)."""
    account = SeatAccount.objects.filter(subscription=subscription).first()
    if account is not None:
        return account
    if subscription.is_corporate:
        maximum = subscription.user_count or None
    elif subscription.user_count > 0:
        maximum = subscription.user_count
    else:
        raise SeatError(_("This subscription is not a multi-user subscription."))
    account, _created = SeatAccount.objects.get_or_create(
        subscription=subscription, defaults={"maximum_users": maximum}
    )
    return account


def _running_user_subscriptions(account_id: int):
    return UserSubscription.objects.filter(seat_account_id=account_id, state__in=RUNNING)


def _pending_invitations(account_id: int, now: datetime):
    return Invitation.objects.filter(
        seat_account_id=account_id, status=Invitation.Status.PENDING, expires_at__gt=now
    )


def seats_taken(*, account: SeatAccount, now: datetime | None = None) -> int:
    """Users with running access plus pending, unexpired invitations."""
    now = now or timezone.now()
    users = _running_user_subscriptions(account.pk).values("user_id").distinct().count()
    return users + _pending_invitations(account.pk, now).count()


def seats_free(*, account: SeatAccount, now: datetime | None = None) -> int | None:
    """Free seats; None when the account is unlimited."""
    if account.maximum_users is None:
        return None
    return max(account.maximum_users - seats_taken(account=account, now=now), 0)


def products_for(account: SeatAccount) -> list[Product]:
    """The products a user of the account gets: those of its subscription."""
    return [
        item.product
        for item in SubscriptionItem.objects.filter(subscription_id=account.subscription_id)
        .select_related("product")
        .order_by("product__name", "product_id")
    ]


def _is_main_user(account: SeatAccount, user) -> bool:
    return account.subscription.customer.main_user_id == user.pk


def _has_running_access(account: SeatAccount, user) -> bool:
    return _running_user_subscriptions(account.pk).filter(user=user).exists()


# --- locking -----------------------------------------------------------------------


def _lock_account(account_id: int) -> SeatAccount:
    return (
        SeatAccount.objects.select_for_update(of=("self",))
        .select_related(
            "subscription__customer", "subscription__offer", "subscription__corporate_offer"
        )
        .get(pk=account_id)
    )


def _claim_seat(account_id: int, *, seats: int = 1, now: datetime | None = None) -> SeatAccount:
    """Lock the account row and make sure `seats` seats are free under that lock; the
    caller then writes what takes them in the same transaction. Raises SeatsFull."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("_claim_seat must run inside the caller's transaction.")
    account = _lock_account(account_id)
    _require_free(account, seats=seats, now=now)
    return account


def _require_free(account: SeatAccount, *, seats: int = 1, now: datetime | None = None) -> None:
    """Raise SeatsFull unless `seats` seats are free; the account must be locked."""
    free = seats_free(account=account, now=now)
    if free is not None and free < seats:
        raise SeatsFull()


# --- starting ----------------------------------------------------------------------


def _event_payload(user_subscription: UserSubscription, via: str) -> dict:
    return {
        "user_subscription": str(user_subscription.public_id),
        "user": user_subscription.user.email,
        "product": user_subscription.product.code,
        "subscription": str(user_subscription.seat_account.subscription.public_id),
        "state": user_subscription.state,
        "ends_at": user_subscription.ends_at.isoformat() if user_subscription.ends_at else None,
        "via": via,
    }


def _log(user_subscription: UserSubscription, action: str, *, at, actor, via: str) -> None:
    LogEntry.objects.create(
        seat_account_id=user_subscription.seat_account_id,
        user_subscription=user_subscription,
        user_id=user_subscription.user_id,
        product_id=user_subscription.product_id,
        action=action,
        at=at,
        actor=actor,
        via=via,
    )


@transaction.atomic
def user_subscription_start(
    *,
    account: SeatAccount,
    user,
    via: str,
    actor=None,
    invitation: Invitation | None = None,
    now: datetime | None = None,
) -> list[UserSubscription]:
    """Give `user` access to every product of the account: one user subscription per
    product, a log entry and a CREATE event each. Takes one seat (through `_claim_seat`).
    A redeemed invitation must be marked redeemed before this is called, so its seat is
    free again and becomes this one (see invitation_redeem); it is named in the events."""
    return _start_checked(
        account.pk, user, via=via, actor=actor, invitation=invitation, now=now or timezone.now()
    )


def _start_checked(account_id, user, *, via, actor, now, invitation=None, mail_for=None):
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("_start_checked must run inside the caller's transaction.")
    account = _lock_account(account_id)
    _fulfil_own_invitations(account, user, now)
    _require_free(account, now=now)
    if _is_main_user(account, user):
        raise SeatError(_("The main user always has access and needs no seat."))
    if _has_running_access(account, user):
        raise SeatError(_("This user already has access to this subscription."))
    if not user.is_active:
        raise SeatError(_("This user account is blocked."))
    if account.subscription.status == Subscription.Status.ENDED:
        raise SeatError(_("This subscription has ended."))
    products = products_for(account)
    if not products:
        raise SeatError(_("This subscription includes no products."))
    mails = mail_for(account, products) if mail_for else ()
    return _start(
        account, user, products, via=via, actor=actor, now=now, invitation=invitation, mails=mails
    )


def _fulfil_own_invitations(account: SeatAccount, user, now) -> None:
    """Whoever gets access no longer needs the invitations still pending for their
    address on this account (invited twice, or invited and then activated by domain):
    they are marked redeemed by that user, before the seat check, so a person's own
    invitation neither keeps a second seat nor makes the account full for them. Rolled
    back with the start if it is refused."""
    Invitation.objects.filter(
        seat_account=account,
        status=Invitation.Status.PENDING,
        email=normalize_email(user.email),
    ).update(status=Invitation.Status.REDEEMED, redeemed_by=user, redeemed_at=now)


def _start(
    account, user, products, *, via, actor, now, invitation=None, mails=()
) -> list[UserSubscription]:
    created = UserSubscription.objects.bulk_create(
        [
            UserSubscription(seat_account=account, user=user, product=product, started_at=now)
            for product in products
        ]
    )
    for index, user_subscription in enumerate(created):
        user_subscription.seat_account = account
        _log(user_subscription, LogEntry.Action.STARTED, at=now, actor=actor, via=via)
        payload = _event_payload(user_subscription, via)
        if invitation is not None:
            payload["invitation"] = str(invitation.public_id)
        emit(
            type=EventType.USER_SUBSCRIPTION_CREATED,
            payload=payload,
            subject=user_subscription,
            # The e-mail (if any) rides on the first product's event: one per user.
            mails=mails if index == 0 else (),
            occurred_at=now,
        )
    return created


@transaction.atomic
def user_add_existing(
    *, account: SeatAccount, user, actor, now: datetime | None = None
) -> list[UserSubscription]:
    """Staff add a user who already has an account: access starts at once, and the user
    gets the "user added" e-mail (attached to the first CREATE event)."""

    def mail(account: SeatAccount, products: list[Product]) -> list[Mail]:
        language = user.language or settings.LANGUAGE_CODE
        with override(language):
            context = {
                "recipient_first_name": user.first_name,
                "offer_name": str(account.subscription.title),
                "products": [str(product.name) for product in products],
                "portal_url": absolute_url("subscriptions:subscription_list"),
            }
        return [
            Mail(template=MailType.USER_ADDED, to=user.email, language=language, context=context)
        ]

    return _start_checked(
        account.pk, user, via=Via.STAFF, actor=actor, now=now or timezone.now(), mail_for=mail
    )


# --- cancelling and ending ---------------------------------------------------------


def _lock_user_subscription(
    user_subscription: UserSubscription,
) -> tuple[SeatAccount, UserSubscription]:
    account = _lock_account(user_subscription.seat_account_id)
    locked = (
        UserSubscription.objects.select_for_update(of=("self",))
        .select_related("user", "product")
        .get(pk=user_subscription.pk)
    )
    locked.seat_account = account
    return account, locked


def _end(user_subscription: UserSubscription, *, at, actor, via: str) -> None:
    user_subscription.state = UserSubscription.State.ENDED
    user_subscription.ended_at = at
    if user_subscription.ends_at is None or user_subscription.ends_at > at:
        user_subscription.ends_at = at
    user_subscription.save(update_fields=["state", "ended_at", "ends_at"])
    _log(user_subscription, LogEntry.Action.ENDED, at=at, actor=actor, via=via)


@transaction.atomic
def user_subscription_cancel(
    *,
    user_subscription: UserSubscription,
    mode: str = "period_end",
    actor=None,
    now: datetime | None = None,
) -> UserSubscription:
    """Cancel at the end of the subscription's current period (CANCEL event; it ends
    then, through `user_subscriptions_end_due`) or now (ENDED event, seat freed)."""
    if mode not in ("period_end", "now"):
        raise ValueError(f"Unknown cancellation mode {mode!r}.")
    now = now or timezone.now()
    account, user_subscription = _lock_user_subscription(user_subscription)
    if user_subscription.state == UserSubscription.State.ENDED:
        raise SeatError(_("This access has already ended."))
    if mode == "now":
        _end(user_subscription, at=now, actor=actor, via=Via.CANCELLED_NOW)
        event_type = EventType.USER_SUBSCRIPTION_ENDED
        via = Via.CANCELLED_NOW
    else:
        if user_subscription.state == UserSubscription.State.CANCELLED:
            raise SeatError(_("This access is already cancelled."))
        ends_at = _period_end(account.subscription, now)
        user_subscription.state = UserSubscription.State.CANCELLED
        user_subscription.ends_at = ends_at
        user_subscription.save(update_fields=["state", "ends_at"])
        event_type = EventType.USER_SUBSCRIPTION_CANCELLED
        via = Via.CANCELLED
    emit(
        type=event_type,
        payload=_event_payload(user_subscription, via),
        subject=user_subscription,
        occurred_at=now,
    )
    return user_subscription


def _period_end(subscription: Subscription, now: datetime) -> datetime:
    """The end of the current period, or the subscription's own end if that comes first.
    A subscription cancelled to a later period end still ends the user's access with
    the current period: corporate billing counts users per accounting period, so
    keeping the access to the subscription's end would bill periods the customer
    cancelled (tests/hardening/test_time_travel.py)."""
    end = subscription.current_period_end
    if subscription.status == Subscription.Status.CANCELLED and subscription.ends_at:
        if end and now < end < subscription.ends_at:
            return end
        return subscription.ends_at
    if subscription.current_period_end and subscription.current_period_end > now:
        return subscription.current_period_end
    raise SeatError(
        _("This subscription has no current period to end with; cancel the access now.")
    )


@transaction.atomic
def user_subscription_undo_cancellation(
    *, user_subscription: UserSubscription, actor=None, now: datetime | None = None
) -> UserSubscription:
    """Withdraw a pending cancellation (UNDO CANCELLATION event)."""
    now = now or timezone.now()
    _account, user_subscription = _lock_user_subscription(user_subscription)
    if user_subscription.state != UserSubscription.State.CANCELLED:
        raise SeatError(_("This access is not cancelled."))
    if user_subscription.ends_at <= now:
        raise SeatError(_("This access has already ended."))
    user_subscription.state = UserSubscription.State.ACTIVE
    user_subscription.ends_at = None
    user_subscription.save(update_fields=["state", "ends_at"])
    emit(
        type=EventType.USER_SUBSCRIPTION_CANCELLATION_UNDONE,
        payload=_event_payload(user_subscription, "undo_cancellation"),
        subject=user_subscription,
        occurred_at=now,
    )
    return user_subscription


@transaction.atomic
def user_subscription_reactivate(
    *, user_subscription: UserSubscription, actor=None, now: datetime | None = None
) -> UserSubscription:
    """Give an ended access back: a NEW user subscription for the same user and
    product (CREATE event), taking a seat again unless the user still holds one."""
    now = now or timezone.now()
    account = _lock_account(user_subscription.seat_account_id)
    old = UserSubscription.objects.select_related("user", "product").get(pk=user_subscription.pk)
    if old.state != UserSubscription.State.ENDED:
        raise SeatError(_("Only ended access can be reactivated."))
    if account.subscription.status == Subscription.Status.ENDED:
        raise SeatError(_("This subscription has ended."))
    if not old.user.is_active:
        raise SeatError(_("This user account is blocked."))
    running = _running_user_subscriptions(account.pk).filter(user=old.user)
    if running.filter(product=old.product).exists():
        raise SeatError(_("This user already has this access."))
    if not running.exists():
        account = _claim_seat(account.pk, now=now)
    return _start(account, old.user, [old.product], via=Via.REACTIVATED, actor=actor, now=now)[0]


@transaction.atomic
def user_block(*, user, actor=None, now: datetime | None = None) -> list[UserSubscription]:
    """Block a user account with its access: the user can no longer log in, and every
    running user subscription of theirs ends now (CHANGE event each)."""
    now = now or timezone.now()
    account_ids = sorted(
        set(
            UserSubscription.objects.filter(user=user, state__in=RUNNING).values_list(
                "seat_account_id", flat=True
            )
        )
    )
    accounts = {pk: _lock_account(pk) for pk in account_ids}
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    ended = list(
        UserSubscription.objects.select_for_update(of=("self",))
        .select_related("user", "product")
        .filter(user=user, state__in=RUNNING, seat_account_id__in=account_ids)
        .order_by("pk")
    )
    for user_subscription in ended:
        user_subscription.seat_account = accounts[user_subscription.seat_account_id]
        _end(user_subscription, at=now, actor=actor, via=Via.BLOCKED)
        emit(
            type=EventType.USER_SUBSCRIPTION_CHANGED,
            payload=_event_payload(user_subscription, Via.BLOCKED),
            subject=user_subscription,
            occurred_at=now,
        )
    return ended


def user_subscriptions_end_due(*, now: datetime | None = None) -> int:
    """End what is due (every 5 minutes): cancelled access whose end has come, and all
    access of subscriptions that have ended. One transaction per account; an account
    locked by someone else right now is left for the next run. ENDED event each (with
    `via` saying why). Safe to run twice. Returns how many ended."""
    now = now or timezone.now()
    due = UserSubscription.objects.filter(
        Q(state=UserSubscription.State.CANCELLED, ends_at__lte=now)
        | Q(state__in=RUNNING, seat_account__subscription__status=Subscription.Status.ENDED)
    )
    account_ids = sorted(set(due.values_list("seat_account_id", flat=True)))
    return sum(_end_due_for_account(account_id, now) for account_id in account_ids)


@transaction.atomic
def _end_due_for_account(account_id: int, now: datetime) -> int:
    account = (
        SeatAccount.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("subscription")
        .filter(pk=account_id)
        .first()
    )
    if account is None:
        return 0
    subscription_ended = account.subscription.status == Subscription.Status.ENDED
    rows = UserSubscription.objects.select_for_update(of=("self",)).select_related(
        "user", "product"
    )
    if subscription_ended:
        rows = rows.filter(seat_account=account, state__in=RUNNING)
    else:
        rows = rows.filter(
            seat_account=account, state=UserSubscription.State.CANCELLED, ends_at__lte=now
        )
    count = 0
    for user_subscription in rows.order_by("pk"):
        user_subscription.seat_account = account
        if subscription_ended:
            at = min(account.subscription.ended_at or now, now)
            if user_subscription.started_at > at:
                at = now
            via = Via.SUBSCRIPTION_ENDED
        else:
            at, via = user_subscription.ends_at, Via.CANCELLED
        _end(user_subscription, at=at, actor=None, via=via)
        emit(
            type=EventType.USER_SUBSCRIPTION_ENDED,
            payload=_event_payload(user_subscription, via),
            subject=user_subscription,
            occurred_at=at,
        )
        count += 1
    return count
