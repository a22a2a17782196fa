"""Activation pages: the main user's e-mail domains, IP ranges and user settings under
/portal/seats/<account>/, and the public landing page /join/domain/<account>/ with its
confirmation link. Main-user pages answer 404 to everyone else (customer_for_user)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from seats.exceptions import SeatError, SeatsFull
from seats.forms_activation import (
    CsvUploadForm,
    DomainForm,
    DomainRegistrationForm,
    IPRangeForm,
    SettingsForm,
)
from seats.middleware import remember_shared_access
from seats.models import SeatAccount
from seats.services import activation
from seats.services.csv_import import CsvNotClean, csv_invitations_import_start
from seats.services.settings import seat_account_update_settings
from security.decorators import staff_member_required
from subscriptions.models import Subscription
from subscriptions.selectors.customers import customer_for_user


def _account_for_main_user(request: HttpRequest, account_id) -> SeatAccount:
    customer = customer_for_user(user=request.user)
    account = (
        SeatAccount.objects.select_related("subscription__offer", "subscription__corporate_offer")
        .filter(public_id=account_id, subscription__customer=customer)
        .first()
    )
    if account is None:
        raise Http404
    return account


def _add_error(form, error: ValidationError, field: str) -> None:
    form.add_error(None if hasattr(error, "error_dict") else field, error)


def _list_page(request, account_id, *, form_class, field, add, remove, related, template):
    """List + add + remove, shared by the domains and IP ranges pages."""
    account = _account_for_main_user(request, account_id)
    form = form_class(request.POST if "add" in request.POST else None)
    if "remove" in request.POST:
        remove(account=account, item_id=request.POST["remove"], actor=request.user)
        messages.success(request, _("Removed."))
        return redirect(request.path)
    if form.is_bound and form.is_valid():
        try:
            add(account=account, value=form.cleaned_data[field], actor=request.user)
        except ValidationError as error:
            _add_error(form, error, field)
        else:
            messages.success(request, _("Added."))
            return redirect(request.path)
    items = getattr(account, related).all()
    return render(request, template, {"account": account, "form": form, "items": items})


@login_required
@require_http_methods(["GET", "POST"])
def domains(request: HttpRequest, account_id) -> HttpResponse:
    return _list_page(
        request,
        account_id,
        form_class=DomainForm,
        field="domain",
        related="domains",
        add=lambda account, value, actor: activation.domain_add(
            account=account, domain=value, actor=actor
        ),
        remove=lambda account, item_id, actor: activation.domain_remove(
            account=account, domain_id=_int(item_id), actor=actor
        ),
        template="seats/activation/domains.html",
    )


@login_required
@require_http_methods(["GET", "POST"])
def ip_ranges(request: HttpRequest, account_id) -> HttpResponse:
    return _list_page(
        request,
        account_id,
        form_class=IPRangeForm,
        field="cidr",
        related="ip_ranges",
        add=lambda account, value, actor: activation.ip_range_add(
            account=account, cidr=value, actor=actor
        ),
        remove=lambda account, item_id, actor: activation.ip_range_remove(
            account=account, ip_range_id=_int(item_id), actor=actor
        ),
        template="seats/activation/ip_ranges.html",
    )


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, account_id) -> HttpResponse:
    account = _account_for_main_user(request, account_id)
    initial = {
        "invitation_validity_days": account.invitation_validity_days,
        "users_may_cancel": account.users_may_cancel,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            seat_account_update_settings(account=account, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_error(form, error, "invitation_validity_days")
        else:
            messages.success(request, _("Settings saved."))
            return redirect(request.path)
    return render(request, "seats/activation/settings.html", {"account": account, "form": form})


# --- the public landing page -------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def domain_register(request: HttpRequest, account_id) -> HttpResponse:
    account = (
        SeatAccount.objects.select_related("subscription__offer", "subscription__corporate_offer")
        .filter(public_id=account_id)
        .exclude(subscription__status=Subscription.Status.ENDED)
        .first()
    )
    if account is None or not account.domains.exists():
        raise Http404
    form = DomainRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            activation.domain_registration_start(
                account=account,
                **form.cleaned_data,
                confirm_url=lambda token: request.build_absolute_uri(
                    reverse("join:domain_confirm", args=[token])
                ),
            )
        except ValidationError as error:
            _add_error(form, error, "email")
        else:
            return render(
                request,
                "seats/activation/register_sent.html",
                {"account": account, "email": form.cleaned_data["email"]},
            )
    return render(request, "seats/activation/register.html", {"account": account, "form": form})


@require_http_methods(["GET", "POST"])
def domain_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners that open links must not take a seat); POST
    confirms."""
    if request.method == "GET":
        return render(request, "seats/activation/confirm.html", {"token": token})
    try:
        account, user = activation.domain_registration_confirm(token=token)
    except SeatsFull as error:
        context, status = {"reason": "full", "message": error.message}, 409
    except activation.ActivationLinkInvalid as error:
        context, status = {"reason": error.reason, "message": error.message}, 400
    except SeatError as error:
        context, status = {"reason": "refused", "message": error.message}, 400
    else:
        remember_shared_access(request, user)
        context = {"account": account, "confirmed_user": user}
        return render(request, "seats/activation/confirmed.html", context)
    return render(request, "seats/activation/refused.html", context, status=status)


@staff_member_required
@permission_required("seats.add_invitation", raise_exception=True)
@require_http_methods(["GET", "POST"])
def admin_csv_upload(request: HttpRequest, account_id: int) -> HttpResponse:
    """The admin's CSV import for one seat account (mount it in the admin's URLs); the
    same importer and checks as the portal's upload page."""
    account = (
        SeatAccount.objects.select_related("subscription__offer", "subscription__corporate_offer")
        .filter(pk=account_id)
        .first()
    )
    if account is None:
        raise Http404
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    context = {"account": account, "form": form, "title": _("Invite users from a CSV file")}
    if request.method == "POST" and form.is_valid():
        try:
            context["upload"] = csv_invitations_import_start(
                account=account,
                file=form.cleaned_data["file"],
                actor=request.user,
                only_valid=form.cleaned_data["only_valid"],
            )
        except CsvNotClean as error:
            context["result"] = error.result
        except SeatError as error:
            form.add_error(None, error.message)
        except ValidationError as refused:  # the upload gate (catalog.uploads)
            form.add_error("file", refused)
    return render(request, "seats/activation/admin_csv_upload.html", context)
