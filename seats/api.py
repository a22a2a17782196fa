"""The integration API's multi-user seats: the seat account of a subscription, its
users (user subscriptions), invitations, e-mail domains, IP ranges, settings and log.
Handlers parse, call one service of `seats.services`, and answer; the seat limit and
every other rule are the services' (a full account is 409 `seat_limit_reached`)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from api.auth import scope
from api.pagination import PageParams, cursor_page, page_of
from api.problems import Problem, register_problem
from api.schemas import Email, Timestamp, text
from seats.exceptions import InvitationInvalid, SeatError, SeatsFull
from seats.models import EmailDomain, Invitation, IPRange, SeatAccount, UserSubscription
from seats.selectors import log_entries
from seats.services.activation import (
    domain_add,
    domain_remove,
    ip_range_add,
    ip_range_remove,
    normalise_cidr,
    normalise_domain,
)
from seats.services.invitations import invitation_create, invitation_resend, invitation_revoke
from seats.services.seats import (
    seat_account_for_subscription,
    seats_taken,
    user_add_existing,
    user_subscription_cancel,
    user_subscription_reactivate,
    user_subscription_undo_cancellation,
)
from seats.services.settings import seat_account_update_settings
from subscriptions.models import Subscription, User, normalize_email

router = Router(tags=["seats"])

register_problem(SeatsFull, status=409, code="seat_limit_reached")
register_problem(InvitationInvalid, status=409, code=lambda e: f"invitation_{e.reason}")
register_problem(SeatError, status=409, code="seat_refused")


# --- schemas ---------------------------------------------------------------------------


class SeatAccountOut(Schema):
    id: UUID
    subscription: UUID
    maximum_users: int | None = Field(..., description="Besides the main user; null: no limit.")
    seats_taken: int
    seats_free: int | None
    invitation_validity_days: int
    users_may_cancel: bool
    main_user_email: str | None


class SettingsIn(Schema):
    invitation_validity_days: int | None = Field(None, ge=-1000, le=100000)
    users_may_cancel: bool | None = None


class UserSubscriptionOut(Schema):
    id: UUID
    subscription: UUID
    user_email: str
    first_name: str
    last_name: str
    product: str
    state: str
    started_at: Timestamp
    ends_at: Timestamp | None
    ended_at: Timestamp | None


class UserFilters(Schema):
    state: Literal["active", "cancelled", "ended"] | None = None
    email: text(254) | None = Field(None, description="Part of the user's e-mail address.")
    product: text(64) | None = Field(None, description="The product's code.")


class InviteIn(Schema):
    email: Email
    first_name: text(150) = ""
    last_name: text(150) = ""
    language: Literal["en", "de"] = "en"


class AddUserIn(Schema):
    email: Email = Field(..., description="A user who already has a customer account.")


class InvitationOut(Schema):
    id: UUID
    email: str
    first_name: str
    last_name: str
    language: str
    status: str
    expires_at: Timestamp
    sent_at: Timestamp | None
    redeemed_at: Timestamp | None
    created_at: Timestamp


class InvitationFilters(Schema):
    status: Literal["pending", "redeemed", "revoked", "expired"] | None = None


class CancelIn(Schema):
    mode: Literal["period_end", "now"] = "period_end"


class DomainIn(Schema):
    domain: text(253, 1)


class DomainOut(Schema):
    domain: str
    created_at: Timestamp


class IPRangeIn(Schema):
    cidr: text(49, 1) = Field(..., examples=["203.0.113.0/24"])


class IPRangeOut(Schema):
    cidr: str
    created_at: Timestamp


class LogFilters(Schema):
    action: Literal["started", "ended"] | None = None
    email: text(254) | None = Field(None, description="Part of the user's e-mail or name.")
    product: text(64) | None = Field(None, description="The product's code.")
    since: date | None = Field(None, description="From this day (inclusive).")
    until: date | None = Field(None, description="Up to this day (inclusive).")


class LogEntryOut(Schema):
    at: Timestamp
    action: str
    via: str
    user_email: str
    product: str
    user_subscription: UUID
    actor_email: str | None


# --- helpers ---------------------------------------------------------------------------


def _account(subscription_id: UUID) -> SeatAccount:
    subscription = get_object_or_404(Subscription, public_id=subscription_id)
    try:
        account = seat_account_for_subscription(subscription=subscription)
    except SeatError as error:
        raise Problem(404, "not_multi_user", error.message) from None
    return SeatAccount.objects.select_related(
        "subscription__customer__main_user", "subscription__offer"
    ).get(pk=account.pk)


def _user_subscription(public_id: UUID) -> UserSubscription:
    return get_object_or_404(_user_subscriptions(), public_id=public_id)


def _user_subscriptions() -> QuerySet[UserSubscription]:
    return UserSubscription.objects.select_related("user", "product", "seat_account__subscription")


def _account_out(account: SeatAccount) -> SeatAccountOut:
    taken = seats_taken(account=account)
    main_user = account.subscription.customer.main_user
    return SeatAccountOut(
        id=account.public_id,
        subscription=account.subscription.public_id,
        maximum_users=account.maximum_users,
        seats_taken=taken,
        seats_free=None if account.maximum_users is None else max(account.maximum_users - taken, 0),
        invitation_validity_days=account.invitation_validity_days,
        users_may_cancel=account.users_may_cancel,
        main_user_email=main_user.email if main_user else None,
    )


def _us_out(user_subscription: UserSubscription) -> UserSubscriptionOut:
    return UserSubscriptionOut(
        id=user_subscription.public_id,
        subscription=user_subscription.seat_account.subscription.public_id,
        user_email=user_subscription.user.email,
        first_name=user_subscription.user.first_name,
        last_name=user_subscription.user.last_name,
        product=user_subscription.product.code,
        state=user_subscription.state,
        started_at=user_subscription.started_at,
        ends_at=user_subscription.ends_at,
        ended_at=user_subscription.ended_at,
    )


def _invitation_out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        id=invitation.public_id,
        **{field: getattr(invitation, field) for field in InvitationOut.model_fields
           if field != "id"},
    )  # fmt: skip


def _invitation(subscription_id: UUID, invitation_id: UUID) -> Invitation:
    return get_object_or_404(
        Invitation,
        public_id=invitation_id,
        seat_account__subscription__public_id=subscription_id,
    )


def _validation(error: ValidationError, field: str) -> Problem:
    return Problem(422, "invalid", error.messages[0], field=field)


# --- the account and its settings ------------------------------------------------------

SEATS = "/subscriptions/{subscription_id}/seats"


@router.get(SEATS, response=SeatAccountOut, auth=scope("read"))
def seat_account_get(request, subscription_id: UUID):
    """The seat account of a multi-user or corporate subscription: seats and settings."""
    return _account_out(_account(subscription_id))


@router.patch(SEATS + "/settings", response=SeatAccountOut, auth=scope("seats"))
def seat_settings_patch(request, subscription_id: UUID, body: SettingsIn):
    account = _account(subscription_id)
    seat_account_update_settings(
        account=account,
        invitation_validity_days=(
            account.invitation_validity_days
            if body.invitation_validity_days is None
            else body.invitation_validity_days
        ),
        users_may_cancel=(
            account.users_may_cancel if body.users_may_cancel is None else body.users_may_cancel
        ),
        actor=request.auth.created_by,
    )
    return _account_out(_account(subscription_id))


# --- users -----------------------------------------------------------------------------


@router.get(
    SEATS + "/users",
    response=page_of(UserSubscriptionOut, "UserSubscriptionPage"),
    auth=scope("read"),
)
def seat_user_list(
    request, subscription_id: UUID, filters: Query[UserFilters], page: Query[PageParams]
):
    """The account's user subscriptions (one per user and product), newest first."""
    account = _account(subscription_id)
    rows = _user_subscriptions().filter(seat_account=account)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.email:
        rows = rows.filter(user__email__icontains=filters.email)
    if filters.product:
        rows = rows.filter(product__code=filters.product)
    items, cursor = cursor_page(rows, page)
    return {"items": [_us_out(row) for row in items], "next_cursor": cursor}


@router.post(SEATS + "/users", response={201: list[UserSubscriptionOut]}, auth=scope("seats"))
def seat_user_add(request, subscription_id: UUID, body: AddUserIn):
    """Add a user who already has a customer account: access starts at once (one user
    subscription per product) and the "user added" e-mail is sent."""
    account = _account(subscription_id)
    user = User.objects.filter(email__iexact=normalize_email(body.email)).first()
    if user is None or user.customer_id is None:
        raise Problem(
            422, "unknown_user", "No user with a customer account has this address.",
            field="body.email",
        )  # fmt: skip
    started = user_add_existing(account=account, user=user, actor=request.auth.created_by)
    rows = _user_subscriptions().filter(pk__in=[us.pk for us in started]).order_by("product__code")
    return Status(201, [_us_out(row) for row in rows])


@router.get("/user-subscriptions/{user_subscription_id}", response=UserSubscriptionOut,
            auth=scope("read"))  # fmt: skip
def user_subscription_get(request, user_subscription_id: UUID):
    return _us_out(_user_subscription(user_subscription_id))


@router.post("/user-subscriptions/{user_subscription_id}/cancel", response=UserSubscriptionOut,
             auth=scope("seats"))  # fmt: skip
def user_subscription_cancel_post(request, user_subscription_id: UUID, body: CancelIn):
    """Cancel at the end of the subscription's current period, or now (frees the seat)."""
    user_subscription_cancel(
        user_subscription=_user_subscription(user_subscription_id),
        mode=body.mode,
        actor=request.auth.created_by,
    )
    return _us_out(_user_subscription(user_subscription_id))


@router.post("/user-subscriptions/{user_subscription_id}/undo-cancellation",
             response=UserSubscriptionOut, auth=scope("seats"))  # fmt: skip
def user_subscription_undo_post(request, user_subscription_id: UUID):
    user_subscription_undo_cancellation(
        user_subscription=_user_subscription(user_subscription_id),
        actor=request.auth.created_by,
    )
    return _us_out(_user_subscription(user_subscription_id))


@router.post("/user-subscriptions/{user_subscription_id}/reactivate",
             response={201: UserSubscriptionOut}, auth=scope("seats"))  # fmt: skip
def user_subscription_reactivate_post(request, user_subscription_id: UUID):
    """Give ended access back: a new user subscription (taking a seat again)."""
    new = user_subscription_reactivate(
        user_subscription=_user_subscription(user_subscription_id),
        actor=request.auth.created_by,
    )
    return Status(201, _us_out(_user_subscription(new.public_id)))


# --- invitations -----------------------------------------------------------------------


@router.get(SEATS + "/invitations", response=page_of(InvitationOut, "InvitationPage"),
            auth=scope("read"))  # fmt: skip
def invitation_list(
    request, subscription_id: UUID, filters: Query[InvitationFilters], page: Query[PageParams]
):
    account = _account(subscription_id)
    invitations = Invitation.objects.filter(seat_account=account)
    if filters.status:
        invitations = invitations.filter(status=filters.status)
    items, cursor = cursor_page(invitations, page)
    return {"items": [_invitation_out(i) for i in items], "next_cursor": cursor}


@router.post(SEATS + "/invitations", response={201: InvitationOut}, auth=scope("seats"))
def invitation_post(request, subscription_id: UUID, body: InviteIn):
    """Invite someone by e-mail: the invitation holds a seat until it is accepted,
    revoked or expires. The code goes out only in the e-mail."""
    invitation, _code = invitation_create(
        account=_account(subscription_id),
        email=body.email,
        first_name=body.first_name,
        last_name=body.last_name,
        language=body.language,
        actor=request.auth.created_by,
    )
    return Status(201, _invitation_out(invitation))


@router.post(SEATS + "/invitations/{invitation_id}/revoke", response=InvitationOut,
             auth=scope("seats"))  # fmt: skip
def invitation_revoke_post(request, subscription_id: UUID, invitation_id: UUID):
    invitation = invitation_revoke(
        invitation=_invitation(subscription_id, invitation_id), actor=request.auth.created_by
    )
    return _invitation_out(invitation)


@router.post(SEATS + "/invitations/{invitation_id}/resend", response=InvitationOut,
             auth=scope("seats"))  # fmt: skip
def invitation_resend_post(request, subscription_id: UUID, invitation_id: UUID):
    """Send again with a new code and expiry; the old code stops working."""
    invitation, _code = invitation_resend(
        invitation=_invitation(subscription_id, invitation_id), actor=request.auth.created_by
    )
    return _invitation_out(invitation)


# --- e-mail domains and IP ranges ------------------------------------------------------


@router.get(SEATS + "/domains", response=list[DomainOut], auth=scope("read"))
def domain_list(request, subscription_id: UUID):
    """The account's e-mail domains (a handful; not paginated)."""
    return list(EmailDomain.objects.filter(seat_account=_account(subscription_id)))


@router.post(SEATS + "/domains", response={201: DomainOut}, auth=scope("seats"))
def domain_post(request, subscription_id: UUID, body: DomainIn):
    try:
        domain = domain_add(
            account=_account(subscription_id), domain=body.domain, actor=request.auth.created_by
        )
    except ValidationError as error:
        raise _validation(error, "body.domain") from None
    return Status(201, domain)


@router.delete(SEATS + "/domains/{domain}", response={204: None}, auth=scope("seats"))
def domain_delete(request, subscription_id: UUID, domain: text(253, 1)):
    account = _account(subscription_id)
    try:
        name = normalise_domain(domain)
    except ValidationError:
        name = None
    listed = get_object_or_404(EmailDomain, seat_account=account, domain=name)
    domain_remove(account=account, domain_id=listed.pk, actor=request.auth.created_by)
    return Status(204, None)


@router.get(SEATS + "/ip-ranges", response=list[IPRangeOut], auth=scope("read"))
def ip_range_list(request, subscription_id: UUID):
    return list(IPRange.objects.filter(seat_account=_account(subscription_id)))


@router.post(SEATS + "/ip-ranges", response={201: IPRangeOut}, auth=scope("seats"))
def ip_range_post(request, subscription_id: UUID, body: IPRangeIn):
    try:
        ip_range = ip_range_add(
            account=_account(subscription_id), cidr=body.cidr, actor=request.auth.created_by
        )
    except ValidationError as error:
        raise _validation(error, "body.cidr") from None
    return Status(201, ip_range)


@router.delete(SEATS + "/ip-ranges", response={204: None}, auth=scope("seats"))
def ip_range_delete(request, subscription_id: UUID, cidr: Query[IPRangeIn]):
    """Remove a network, named in the query (`?cidr=203.0.113.0/24`: a CIDR has a slash)."""
    account = _account(subscription_id)
    try:
        network = normalise_cidr(cidr.cidr)
    except ValidationError:
        network = None
    listed = get_object_or_404(IPRange, seat_account=account, cidr=network)
    ip_range_remove(account=account, ip_range_id=listed.pk, actor=request.auth.created_by)
    return Status(204, None)


# --- the subscription log --------------------------------------------------------------


@router.get(SEATS + "/log", response=page_of(LogEntryOut, "LogEntryPage"), auth=scope("read"))
def seat_log(request, subscription_id: UUID, filters: Query[LogFilters], page: Query[PageParams]):
    """Every start and end of a user subscription, newest first (append-only)."""
    account = _account(subscription_id)
    entries = log_entries(
        account=account,
        user_search=filters.email or "",
        action=filters.action or "",
        since=filters.since,
        until=filters.until,
    ).select_related("user_subscription")
    if filters.product:
        entries = entries.filter(product__code=filters.product)
    items, cursor = cursor_page(entries, page)
    return {
        "items": [
            LogEntryOut(
                at=entry.at,
                action=entry.action,
                via=entry.via,
                user_email=entry.user.email,
                product=entry.product.code,
                user_subscription=entry.user_subscription.public_id,
                actor_email=entry.actor.email if entry.actor_id else None,
            )
            for entry in items
        ],
        "next_cursor": cursor,
    }
