"""Customer accounts: the customer page with its portal users, subscriptions, payment
methods and activity history (all read-only here; they change through their own pages
and services), and honest placeholders for what later issues add."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from catalog.admin.base import money_display
from subscriptions.admin.panels import CUSTOMER_PANELS, render_panels
from subscriptions.models import Activity, Customer, PaymentMethod, Subscription, User
from subscriptions.services.accounts import customer_save_by_staff


def admin_link(obj, text: str) -> str:
    """A link to the object's admin page, or plain text while that admin does not exist."""
    opts = obj._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return text
    return format_html('<a href="{}">{}</a>', url, text)


class ReadOnlyInline(admin.TabularInline):
    """Shown, never edited here: no add, change or delete rows on the customer page."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple:
        return self.fields


class PortalUserInline(ReadOnlyInline):
    model = User
    fk_name = "customer"
    verbose_name = _("portal user")
    verbose_name_plural = _("portal users")
    fields = ("user", "first_name", "last_name", "language", "is_active", "last_login")

    @admin.display(description=_("e-mail address"))
    def user(self, user: User) -> str:
        return admin_link(user, user.email)


class SubscriptionInline(ReadOnlyInline):
    model = Subscription
    fields = ("subscription", "status", "price", "started_at", "current_period_end", "ends_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        return super().get_queryset(request).select_related("offer", "corporate_offer")

    @admin.display(description=_("offer"))
    def subscription(self, subscription: Subscription) -> str:
        return admin_link(subscription, subscription.title)

    @admin.display(description=_("price"))
    def price(self, subscription: Subscription) -> str:
        if subscription.is_corporate:
            return _("Corporate: by usage")
        return money_display(subscription.price_amount, subscription.currency)


class PaymentMethodInline(ReadOnlyInline):
    model = PaymentMethod
    fields = ("method", "kind", "status", "created_at")

    @admin.display(description=_("shown as"))
    def method(self, method: PaymentMethod) -> str:
        return admin_link(method, method.label)


class ActivityInline(ReadOnlyInline):
    """Newest first (the model's ordering)."""

    model = Activity
    fields = ("created_at", "verb", "subscription_name", "actor", "message")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Activity]:
        return (
            super()
            .get_queryset(request)
            .select_related("actor", "subscription__offer", "subscription__corporate_offer")
        )

    @admin.display(description=_("subscription"))
    def subscription_name(self, activity: Activity) -> str:
        return activity.subscription.title if activity.subscription_id else "—"


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "email", "country", "main_user", "created_at")
    list_filter = ("kind", "country", "language", "currency")
    list_select_related = ("main_user",)
    search_fields = ("name", "email", "vat_id", "users__email")
    search_help_text = _("Name, billing e-mail, VAT id or a portal user's e-mail.")
    date_hierarchy = "created_at"
    autocomplete_fields = ("main_user",)
    readonly_fields = ("public_id", "created_at", "updated_at", "multi_user", "invoices")
    fieldsets = (
        (None, {"fields": ("kind", "name", "email", "main_user", "language", "currency")}),
        (
            _("Billing address"),
            {
                "fields": (
                    "address_line1",
                    "address_line2",
                    ("postal_code", "city"),
                    "country",
                    "vat_id",
                    "buyer_reference",
                )
            },
        ),
        (_("Multi-user subscriptions"), {"fields": ("multi_user",)}),
        (_("Invoices and payments"), {"fields": ("invoices",)}),
        (_("Record"), {"fields": ("public_id", "created_at", "updated_at")}),
    )
    inlines = (PortalUserInline, SubscriptionInline, PaymentMethodInline, ActivityInline)

    def save_model(self, request: HttpRequest, obj: Customer, form, change: bool) -> None:
        customer_save_by_staff(customer=obj, actor=request.user, changed=form.changed_data)

    @admin.display(description=_("multi-user subscriptions"))
    def multi_user(self, customer: Customer) -> str:
        """The customer's seat accounts, read-only, each linking to its page (seats,
        invitations, log). Found through the reverse relation: this app sits below seats
        and does not import it."""
        subscriptions = (
            customer.subscriptions.filter(seat_account__isnull=False)
            .select_related("offer", "corporate_offer", "seat_account")
            .order_by("-started_at")
        )
        rows = [
            (
                admin_link(subscription.seat_account, subscription.title),
                subscription.get_status_display(),
                _("unlimited")
                if subscription.seat_account.maximum_users is None
                else subscription.seat_account.maximum_users,
            )
            for subscription in subscriptions
        ]
        if not rows:
            return _("No multi-user subscriptions.")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("multi-user account"),
            _("status"),
            _("maximum users"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description=_("invoices and payments"))
    def invoices(self, customer: Customer) -> str:
        return render_panels(CUSTOMER_PANELS, customer)
