"""The main user's seat pages (/portal/seats/<account>/…) and an invited user's own access
(/portal/seats/my-access/).

Every seat page finds the customer through the signed-in main user
(`customer_for_user`: everyone else gets 404) and the account through a selector scoped to
that customer; users, invitations and log entries are then found inside that account
only. Changes go through the seats services; their refusals become messages."""

from __future__ import annotations

import csv
import datetime
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from catalog.spreadsheets import csv_cell
from seats import selectors
from seats.exceptions import SeatError
from seats.forms_portal import CancelForm, InviteForm, LogFilterForm, SeatFilterForm, UploadForm
from seats.middleware import remember_shared_access
from seats.models import LogEntry, SeatAccount, UserSubscription
from seats.services import seats as seat_services
from seats.services.invitations import invitation_create, invitation_resend, invitation_revoke
from seats.services.seats import RUNNING
from subscriptions.selectors.customers import customer_for_user

UPLOAD_TTL = 3600
DONE_STATES = ("done", "failed")


def _account(request: HttpRequest, account_id: uuid.UUID) -> SeatAccount:
    customer = customer_for_user(user=request.user)
    return selectors.seat_account_for_customer(customer=customer, public_id=account_id)


def _seat_counts(account: SeatAccount) -> dict:
    taken = seat_services.seats_taken(account=account)
    free = None if account.maximum_users is None else max(account.maximum_users - taken, 0)
    return {"taken": taken, "maximum": account.maximum_users, "free": free}


@login_required
def seat_list(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    try:
        account = selectors.seat_account_for_customer(customer=customer, public_id=account_id)
    except Http404:
        # The subscription page links here with the subscription's id: its seat account
        # is made on the first visit, then the URL carries the account's own id.
        subscription = selectors.multi_user_subscription_for_customer(
            customer=customer, public_id=account_id
        )
        account = seat_services.seat_account_for_subscription(subscription=subscription)
        return redirect("seats:seat_list", account_id=account.public_id)
    filters = SeatFilterForm(request.GET or None)
    listing = selectors.seat_list(
        account=account,
        **filters.filters(),
        page=request.GET.get("page", 1),
        invitations_page=request.GET.get("invitations_page", 1),
    )
    return render(
        request,
        "seats/portal/seat_list.html",
        {
            "account": account,
            "subscription": account.subscription,
            "filters": filters,
            "listing": listing,
            "seats": listing.seats,
            "query": _query_without_page(request),
        },
    )


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("invitations_page", None)
    return query.urlencode()


@login_required
def invite(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    account = _account(request, account_id)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation_create(account=account, actor=request.user, **form.cleaned_data)
        except SeatError as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request,
                _("%(email)s is invited; the invitation is on its way.")
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("seats:seat_list", account_id=account.public_id)
    return render(
        request,
        "seats/portal/invite.html",
        {"account": account, "form": form, "seats": _seat_counts(account)},
    )


@login_required
@require_POST
def cancel(
    request: HttpRequest, account_id: uuid.UUID, user_subscription_id: uuid.UUID
) -> HttpResponse:
    account = _account(request, account_id)
    user_subscription = selectors.user_subscription_for_account(
        account=account, public_id=user_subscription_id
    )
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose when the access should end."))
    else:
        try:
            user_subscription = seat_services.user_subscription_cancel(
                user_subscription=user_subscription,
                mode=form.cleaned_data["mode"],
                actor=request.user,
            )
        except SeatError as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _cancelled_message(user_subscription))
    return redirect("seats:seat_list", account_id=account.public_id)


def _cancelled_message(user_subscription: UserSubscription) -> str:
    names = {"email": user_subscription.user.email, "product": user_subscription.product.name}
    if user_subscription.state == UserSubscription.State.ENDED:
        return _("The access of %(email)s to %(product)s has ended.") % names
    return _("The access of %(email)s to %(product)s ends on %(date)s.") % {
        **names,
        "date": date_format(timezone.localtime(user_subscription.ends_at), "DATE_FORMAT"),
    }


@login_required
@require_POST
def reactivate(
    request: HttpRequest, account_id: uuid.UUID, user_subscription_id: uuid.UUID
) -> HttpResponse:
    """Undo a pending cancellation, or give an ended access back (a new user
    subscription that takes a seat again)."""
    account = _account(request, account_id)
    user_subscription = selectors.user_subscription_for_account(
        account=account, public_id=user_subscription_id
    )
    names = {"email": user_subscription.user.email, "product": user_subscription.product.name}
    try:
        if user_subscription.state == UserSubscription.State.CANCELLED:
            seat_services.user_subscription_undo_cancellation(
                user_subscription=user_subscription, actor=request.user
            )
            done = _("The cancellation for %(email)s (%(product)s) is withdrawn.")
        else:
            seat_services.user_subscription_reactivate(
                user_subscription=user_subscription, actor=request.user
            )
            done = _("%(email)s has access to %(product)s again.")
    except SeatError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, done % names)
    return redirect("seats:seat_list", account_id=account.public_id)


@login_required
@require_POST
def revoke(request: HttpRequest, account_id: uuid.UUID, invitation_id: uuid.UUID) -> HttpResponse:
    account = _account(request, account_id)
    invitation = selectors.invitation_for_account(account=account, public_id=invitation_id)
    try:
        invitation_revoke(invitation=invitation, actor=request.user)
    except SeatError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, _("The invitation of %(email)s is withdrawn.") % {"email": invitation.email}
        )
    return redirect("seats:seat_list", account_id=account.public_id)


@login_required
@require_POST
def resend(request: HttpRequest, account_id: uuid.UUID, invitation_id: uuid.UUID) -> HttpResponse:
    account = _account(request, account_id)
    invitation = selectors.invitation_for_account(account=account, public_id=invitation_id)
    try:
        invitation_resend(invitation=invitation, actor=request.user)
    except SeatError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, _("The invitation is sent to %(email)s again.") % {"email": invitation.email}
        )
    return redirect("seats:seat_list", account_id=account.public_id)


def _log_filters(request: HttpRequest, account: SeatAccount) -> LogFilterForm:
    products = selectors.log_products(account=account)
    return LogFilterForm(request.GET or None, products=products)


@login_required
def log(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    account = _account(request, account_id)
    filters = _log_filters(request, account)
    entries = selectors.log_entries(account=account, **filters.filters())
    page = Paginator(entries, selectors.LOG_PER_PAGE).get_page(request.GET.get("page", 1))
    for entry in page.object_list:
        entry.via_label = selectors.via_label(entry.via)
    return render(
        request,
        "seats/portal/log.html",
        {
            "account": account,
            "filters": filters,
            "page": page,
            "query": _query_without_page(request),
        },
    )


@login_required
def log_csv(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    account = _account(request, account_id)
    filters = _log_filters(request, account)
    entries = selectors.log_entries(account=account, **filters.filters())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="subscription-log.csv"'
    response.write("\ufeff")
    write_log_csv(response, entries)
    return response


def write_log_csv(out, entries) -> None:
    """The log as CSV (also the admin's export): one row per entry, UTC times."""
    actions = dict(LogEntry.Action.choices)
    writer = csv.writer(out)
    writer.writerow(
        [_("When (UTC)"), _("User"), _("Name"), _("Product"), _("What"), _("By"), _("How")]
    )
    for entry in entries.iterator(chunk_size=2000):
        writer.writerow(
            [
                csv_cell(entry.at.astimezone(datetime.UTC).isoformat(timespec="seconds")),
                csv_cell(entry.user.email),
                csv_cell(f"{entry.user.first_name} {entry.user.last_name}".strip()),
                csv_cell(entry.product.name),
                csv_cell(actions.get(entry.action, entry.action)),
                csv_cell(entry.actor.email if entry.actor_id else ""),
                csv_cell(selectors.via_label(entry.via)),
            ]
        )


@login_required
def upload(request: HttpRequest, account_id: uuid.UUID) -> HttpResponse:
    """Two steps: a file is checked (nothing written) and kept for an hour; the page lists
    every row error with its line number and offers to import the file, or its valid rows
    only. A large file is imported by a task; `?progress=<id>` then shows how far it got."""
    account = _account(request, account_id)
    from seats.services import csv_import

    if "progress" in request.GET:
        return _upload_progress(request, account, request.GET["progress"])
    if request.method == "POST" and "token" in request.POST:
        return _upload_import(request, account)
    form = UploadForm(request.POST or None, request.FILES or None)
    context = {"account": account, "form": form, "seats": _seat_counts(account)}
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["file"].read()
        result = csv_import.csv_invitations_check(account=account, file=text)
        token = uuid.uuid4().hex
        cache.set(_upload_key(request, account, token), text, UPLOAD_TTL)
        context.update(result=result, token=token, filename=form.cleaned_data["file"].name)
    return render(request, "seats/portal/upload.html", context)


def _upload_key(request: HttpRequest, account: SeatAccount, token: str) -> str:
    return f"seats:csv-upload:{account.pk}:{request.user.pk}:{token}"


def _upload_import(request: HttpRequest, account: SeatAccount) -> HttpResponse:
    from seats.services import csv_import

    key = _upload_key(request, account, request.POST["token"])
    text = cache.get(key)
    if text is None:
        messages.error(request, _("The uploaded file is no longer kept; upload it again."))
        return redirect("seats:upload", account_id=account.public_id)
    try:
        started = csv_import.csv_invitations_import_start(
            account=account,
            file=text,
            actor=request.user,
            only_valid=request.POST.get("only_valid") == "1",
        )
    except SeatError as refused:
        messages.error(request, str(refused))
        return redirect("seats:upload", account_id=account.public_id)
    cache.delete(key)
    if started.queued:
        request.session[f"seats-upload-{started.upload_id}"] = account.pk
        url = reverse("seats:upload", args=[account.public_id])
        return redirect(f"{url}?progress={started.upload_id}")
    messages.success(
        request,
        ngettext("%(count)d user is invited.", "%(count)d users are invited.", started.imported)
        % {"count": started.imported},
    )
    return redirect("seats:seat_list", account_id=account.public_id)


def _upload_progress(request: HttpRequest, account: SeatAccount, upload_id: str) -> HttpResponse:
    from seats.services import csv_import

    if request.session.get(f"seats-upload-{upload_id}") != account.pk:
        raise Http404
    progress = csv_import.csv_import_progress(upload_id) or {"state": "queued"}
    return render(
        request,
        "seats/portal/upload_progress.html",
        {"account": account, "progress": progress, "done": progress["state"] in DONE_STATES},
    )


@login_required
def my_access(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own access; they may end it themselves where the account
    allows it."""
    if request.method == "POST":
        user_subscription = selectors.user_subscription_for_user(
            user=request.user, public_id=_uuid_or_404(request.POST.get("user_subscription"))
        )
        if not user_subscription.seat_account.users_may_cancel:
            messages.error(request, _("Ask the subscription's owner to end your access."))
        else:
            try:
                seat_services.user_subscription_cancel(
                    user_subscription=user_subscription, mode="now", actor=request.user
                )
            except SeatError as refused:
                messages.error(request, str(refused))
            else:
                messages.success(request, _("Your access has ended."))
        return redirect("seats:my_access")
    accesses = selectors.user_subscriptions_for_user(user=request.user)
    remember_shared_access(request, request.user, any(a.state in RUNNING for a in accesses))
    return render(request, "seats/portal/my_access.html", {"accesses": accesses})


def _uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None
