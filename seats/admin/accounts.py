"""Multi-user accounts: seats, invitations, domains, IP ranges, settings, log.

Everything here is read-only: staff change seats through the seats services (invite, add
an existing user, cancel / undo / reactivate, revoke / resend), from a small admin view or
a list action, never by editing rows. The account page shows the first rows of its users
and invitations with links to the full, filtered lists (an account can hold 50,000
seats; inlines would render them all)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Now
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from seats.exceptions import SeatError
from seats.forms_portal import InviteForm
from seats.models import Invitation, LogEntry, SeatAccount, UserSubscription
from seats.services import seats as seat_services
from seats.services.invitations import invitation_create, invitation_resend, invitation_revoke
from seats.views.portal import write_log_csv
from subscriptions.models import Subscription, User

PREVIEW_ROWS = 25


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited: rows change through the seats services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # The change page shows the row read-only; actions ask for change rights below.
        return False

    def may_change(self, request: HttpRequest) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


def seats_used_subqueries() -> dict:
    """Seats used per account in SQL, as seats_taken counts them: users with running
    access plus pending invitations not yet expired."""
    users = (
        UserSubscription.objects.filter(
            seat_account=OuterRef("pk"), state__in=seat_services.RUNNING
        )
        .order_by()
        .values("seat_account")
        .annotate(n=Count("user", distinct=True))
        .values("n")
    )
    invitations = (
        Invitation.objects.filter(
            seat_account=OuterRef("pk"),
            status=Invitation.Status.PENDING,
            expires_at__gt=Now(),
        )
        .order_by()
        .values("seat_account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    zero = Value(0, output_field=IntegerField())
    return {
        "users_used": Coalesce(Subquery(users, output_field=IntegerField()), zero),
        "invitations_used": Coalesce(Subquery(invitations, output_field=IntegerField()), zero),
    }


def changelist_link(model, text: str, **filters) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def _table(headers: list[str], rows) -> str:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


class InviteAdminForm(InviteForm):
    pass


class AddUserForm(forms.Form):
    user = forms.ModelChoiceField(
        label=gettext_lazy("User"),
        queryset=User.objects.filter(is_staff=False),
        widget=AutocompleteSelect(UserSubscription._meta.get_field("user"), admin.site),
        help_text=gettext_lazy("A customer's user; their access starts at once."),
    )


@admin.register(SeatAccount)
class SeatAccountAdmin(ReadOnlyAdmin):
    list_display = (
        "subscription_name",
        "customer",
        "seats_used",
        "maximum",
        "seats_free",
        "created_at",
    )
    list_select_related = (
        "subscription__offer",
        "subscription__corporate_offer",
        "subscription__customer",
    )
    search_fields = (
        "subscription__customer__name",
        "subscription__offer__name",
        "subscription__corporate_offer__name",
    )
    search_help_text = gettext_lazy("Customer name or offer name.")
    date_hierarchy = "created_at"
    list_filter = ("users_may_cancel",)
    fields = (
        "subscription_link",
        "customer_link",
        ("maximum_users", "seat_summary"),
        ("invitation_validity_days", "users_may_cancel"),
        "actions_links",
        "user_subscriptions_table",
        "invitations_table",
        "domains_list",
        "ip_ranges_list",
        "public_id",
        "created_at",
    )
    # `fields` pairs some fields on one line; readonly_fields takes them one by one.
    readonly_fields = tuple(
        name for entry in fields for name in (entry if isinstance(entry, tuple) else (entry,))
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[SeatAccount]:
        return super().get_queryset(request).annotate(**seats_used_subqueries())

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("subscription"), ordering="subscription__offer__name")
    def subscription_name(self, account: SeatAccount) -> str:
        return str(account.subscription.title)

    @admin.display(description=gettext_lazy("customer"), ordering="subscription__customer__name")
    def customer(self, account: SeatAccount) -> str:
        return account.subscription.customer.name

    @admin.display(description=gettext_lazy("seats used"))
    def seats_used(self, account: SeatAccount) -> int:
        return account.users_used + account.invitations_used

    @admin.display(description=gettext_lazy("maximum"), ordering="maximum_users")
    def maximum(self, account: SeatAccount) -> str:
        return "∞" if account.maximum_users is None else str(account.maximum_users)

    @admin.display(description=gettext_lazy("free"))
    def seats_free(self, account: SeatAccount) -> str:
        if account.maximum_users is None:
            return "∞"
        return str(max(account.maximum_users - self.seats_used(account), 0))

    @admin.display(description=gettext_lazy("subscription"))
    def subscription_link(self, account: SeatAccount) -> str:
        url = reverse("admin:subscriptions_subscription_change", args=[account.subscription_id])
        return format_html('<a href="{}">{}</a>', url, account.subscription)

    @admin.display(description=gettext_lazy("customer"))
    def customer_link(self, account: SeatAccount) -> str:
        customer = account.subscription.customer
        url = reverse("admin:subscriptions_customer_change", args=[customer.pk])
        return format_html('<a href="{}">{}</a>', url, customer.name)

    @admin.display(description=gettext_lazy("seats"))
    def seat_summary(self, account: SeatAccount) -> str:
        return _("%(used)s used (%(users)s users, %(invitations)s invitations), %(free)s free") % {
            "used": self.seats_used(account),
            "users": account.users_used,
            "invitations": account.invitations_used,
            "free": self.seats_free(account),
        }

    @admin.display(description=gettext_lazy("do"))
    def actions_links(self, account: SeatAccount) -> str:
        links = [
            (reverse("admin:seats_seataccount_invite", args=[account.pk]), _("Invite a user")),
            (reverse("admin:seats_seataccount_add_user", args=[account.pk]), _("Add a user")),
            (
                reverse("admin:seats_logentry_changelist")
                + f"?seat_account__id__exact={account.pk}",
                _("Subscription log"),
            ),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description=gettext_lazy("user subscriptions"))
    def user_subscriptions_table(self, account: SeatAccount) -> str:
        rows = account.user_subscriptions.select_related("user", "product").order_by(
            "state", "user__email"
        )[:PREVIEW_ROWS]
        table = _table(
            [_("user"), _("product"), _("state"), _("started"), _("ends"), _("ended")],
            [
                (
                    us.user.email,
                    us.product.name,
                    us.get_state_display(),
                    _date(us.started_at),
                    _date(us.ends_at),
                    _date(us.ended_at),
                )
                for us in rows
            ],
        )
        more = changelist_link(
            UserSubscription, _("All user subscriptions"), seat_account__id__exact=account.pk
        )
        return format_html("{}<p>{}</p>", table, more)

    @admin.display(description=gettext_lazy("pending invitations"))
    def invitations_table(self, account: SeatAccount) -> str:
        rows = account.invitations.filter(status=Invitation.Status.PENDING).order_by("email")
        table = _table(
            [_("e-mail address"), _("name"), _("expires"), _("last sent")],
            [
                (
                    i.email,
                    f"{i.first_name} {i.last_name}".strip(),
                    _date(i.expires_at),
                    _date(i.sent_at),
                )
                for i in rows[:PREVIEW_ROWS]
            ],
        )
        more = changelist_link(Invitation, _("All invitations"), seat_account__id__exact=account.pk)
        return format_html("{}<p>{}</p>", table, more)

    @admin.display(description=gettext_lazy("e-mail domains"))
    def domains_list(self, account: SeatAccount) -> str:
        return ", ".join(d.domain for d in account.domains.all()) or "—"

    @admin.display(description=gettext_lazy("IP ranges"))
    def ip_ranges_list(self, account: SeatAccount) -> str:
        return ", ".join(r.cidr for r in account.ip_ranges.all()) or "—"

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/invite/",
                self.admin_site.admin_view(self.invite_view),
                name="seats_seataccount_invite",
            ),
            path(
                "<int:pk>/add-user/",
                self.admin_site.admin_view(self.add_user_view),
                name="seats_seataccount_add_user",
            ),
            path(
                "for-subscription/<int:subscription_pk>/",
                self.admin_site.admin_view(self.for_subscription_view),
                name="seats_seataccount_for_subscription",
            ),
        ]
        return urls + super().get_urls()

    def for_subscription_view(self, request: HttpRequest, subscription_pk: int) -> HttpResponse:
        """The subscription admin links here ("Multi-user account"): the account page of
        a multi-user or corporate subscription, its account made on first use (as the
        portal's user page does); refused for a single-user subscription."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        subscription = get_object_or_404(Subscription, pk=subscription_pk)
        account = SeatAccount.objects.filter(subscription=subscription).first()
        if account is None:
            if not self.may_change(request):
                raise PermissionDenied
            try:
                account = seat_services.seat_account_for_subscription(subscription=subscription)
            except SeatError as refused:
                self.message_user(request, str(refused), messages.ERROR)
                return redirect("admin:subscriptions_subscription_change", subscription.pk)
        return redirect("admin:seats_seataccount_change", account.pk)

    def _account_for_change(self, request: HttpRequest, pk: int) -> SeatAccount:
        if not self.may_change(request):
            raise PermissionDenied
        return get_object_or_404(
            SeatAccount.objects.select_related(
                "subscription__offer", "subscription__corporate_offer", "subscription__customer"
            ),
            pk=pk,
        )

    def invite_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self._account_for_change(request, pk)
        form = InviteAdminForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                invitation_create(account=account, actor=request.user, **form.cleaned_data)
            except SeatError as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(
                    request, _("%(email)s is invited.") % {"email": form.cleaned_data["email"]}
                )
                return redirect("admin:seats_seataccount_change", account.pk)
        return self._form_page(request, account, form, _("Invite a user"))

    def add_user_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self._account_for_change(request, pk)
        form = AddUserForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            user = form.cleaned_data["user"]
            try:
                seat_services.user_add_existing(account=account, user=user, actor=request.user)
            except SeatError as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(request, _("%(email)s has access now.") % {"email": user.email})
                return redirect("admin:seats_seataccount_change", account.pk)
        return self._form_page(request, account, form, _("Add an existing user"))

    def _form_page(self, request, account, form, title) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "account": account,
            "form": form,
            "media": self.media + form.media,
            "title": title,
        }
        return TemplateResponse(request, "admin/seats/seataccount/form.html", context)


def _date(moment) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else "—"


@admin.register(UserSubscription)
class UserSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("user", "product", "state", "account", "started_at", "ends_at", "ended_at")
    list_select_related = (
        "user",
        "product",
        "seat_account__subscription__offer",
        "seat_account__subscription__corporate_offer",
    )
    list_filter = ("state",)
    search_fields = ("user__email", "user__first_name", "user__last_name")
    search_help_text = gettext_lazy("The user's e-mail or name.")
    date_hierarchy = "started_at"
    actions = ("cancel_at_period_end", "cancel_now", "undo_cancellation", "reactivate")
    fields = (
        "public_id",
        "seat_account",
        "user",
        "product",
        "state",
        "started_at",
        "ends_at",
        "ended_at",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("multi-user account"))
    def account(self, user_subscription: UserSubscription) -> str:
        return str(user_subscription.seat_account.subscription.title)

    def _apply(self, request, queryset, service, done: str, **kwargs) -> None:
        if not self.may_change(request):
            raise PermissionDenied
        changed = 0
        for user_subscription in queryset.select_related("user", "product"):
            try:
                service(user_subscription=user_subscription, actor=request.user, **kwargs)
            except SeatError as refused:
                self.message_user(request, f"{user_subscription}: {refused}", messages.ERROR)
            else:
                changed += 1
        if changed:
            self.message_user(request, done % {"count": changed}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Cancel at the end of the period"))
    def cancel_at_period_end(self, request, queryset) -> None:
        self._apply(
            request,
            queryset,
            seat_services.user_subscription_cancel,
            _("%(count)d cancelled."),
            mode="period_end",
        )

    @admin.action(description=gettext_lazy("End now"))
    def cancel_now(self, request, queryset) -> None:
        self._apply(
            request,
            queryset,
            seat_services.user_subscription_cancel,
            _("%(count)d ended."),
            mode="now",
        )

    @admin.action(description=gettext_lazy("Undo the cancellation"))
    def undo_cancellation(self, request, queryset) -> None:
        self._apply(
            request,
            queryset,
            seat_services.user_subscription_undo_cancellation,
            _("%(count)d continue."),
        )

    @admin.action(description=gettext_lazy("Reactivate (ended access)"))
    def reactivate(self, request, queryset) -> None:
        self._apply(
            request,
            queryset,
            seat_services.user_subscription_reactivate,
            _("%(count)d reactivated."),
        )


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("email", "status", "account", "expires_at", "invited_by", "created_at")
    list_select_related = (
        "invited_by",
        "seat_account__subscription__offer",
        "seat_account__subscription__corporate_offer",
    )
    list_filter = ("status", "language")
    search_fields = ("email", "first_name", "last_name")
    date_hierarchy = "created_at"
    actions = ("revoke", "resend")
    fields = (
        "public_id",
        "seat_account",
        "email",
        "first_name",
        "last_name",
        "language",
        "status",
        "expires_at",
        "invited_by",
        "redeemed_by",
        "redeemed_at",
        "sent_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("multi-user account"))
    def account(self, invitation: Invitation) -> str:
        return str(invitation.seat_account.subscription.title)

    def _apply(self, request, queryset, service, done: str) -> None:
        if not self.may_change(request):
            raise PermissionDenied
        changed = 0
        for invitation in queryset:
            try:
                service(invitation=invitation, actor=request.user)
            except SeatError as refused:
                self.message_user(request, f"{invitation.email}: {refused}", messages.ERROR)
            else:
                changed += 1
        if changed:
            self.message_user(request, done % {"count": changed}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Withdraw the invitation"))
    def revoke(self, request, queryset) -> None:
        self._apply(request, queryset, invitation_revoke, _("%(count)d withdrawn."))

    @admin.action(description=gettext_lazy("Send the invitation again"))
    def resend(self, request, queryset) -> None:
        self._apply(request, queryset, invitation_resend, _("%(count)d sent again."))


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "product", "action", "actor", "via", "account")
    list_select_related = (
        "user",
        "product",
        "actor",
        "seat_account__subscription__offer",
        "seat_account__subscription__corporate_offer",
    )
    list_filter = ("action", "via")
    search_fields = ("user__email", "user__first_name", "user__last_name")
    search_help_text = gettext_lazy("The user's e-mail or name.")
    date_hierarchy = "at"
    fields = (
        "at",
        "seat_account",
        "user_subscription",
        "user",
        "product",
        "action",
        "actor",
        "via",
    )
    readonly_fields = fields
    actions = ("export_csv",)
    change_list_template = "admin/seats/logentry/change_list.html"

    @admin.display(description=gettext_lazy("multi-user account"))
    def account(self, entry: LogEntry) -> str:
        return str(entry.seat_account.subscription.title)

    def get_urls(self):
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_view),
            name="seats_logentry_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's filtered entries (all pages) as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).get_queryset(request)
        return self._csv(queryset)

    @admin.action(description=gettext_lazy("Export the selected entries as CSV"))
    def export_csv(self, request, queryset) -> HttpResponse:
        return self._csv(queryset)

    def _csv(self, queryset) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="subscription-log.csv"'
        response.write("\ufeff")
        write_log_csv(response, queryset.select_related("user", "product", "actor"))
        return response
