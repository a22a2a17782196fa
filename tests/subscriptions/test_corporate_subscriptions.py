"""Corporate subscriptions: staff create one on a corporate offer (what billing needs is
copied from the contracts), every refusal writes nothing, the database holds "exactly one
of offer and corporate offer", and the lifecycle, portal and admin treat them right."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from catalog.models import CorporateContract, CorporateOffer
from notifications.models import Event
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import Activity, PaymentMethod, Subscription, SubscriptionItem, User
from subscriptions.services import lifecycle
from subscriptions.services.corporate import corporate_subscription_create
from tests.factories import CorporateContractFactory, CorporateOfferFactory, ProductFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 15, 12, 0, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def customer():
    customer = CustomerFactory(company=True, name="Uni Musterstadt")
    admin = User.objects.create_user(
        email="admin@uni.example", password="pw-corp-1", customer=customer
    )
    customer.main_user = admin
    customer.save(update_fields=["main_user"])
    return customer


@pytest.fixture
def bundle_offer():
    """Digital edition and e-paper in a bundle: invoiced quarterly, renewed yearly,
    cancellable up to one month before the year ends, at most 25 users."""
    terms = {
        "accounting_period_count": 3,
        "accounting_period_unit": "month",
        "maximum_users": 25,
    }
    contracts = [
        CorporateContractFactory(product=ProductFactory(name="E-paper"), **terms),
        CorporateContractFactory(product=ProductFactory(name="Digital edition"), **terms),
    ]
    return CorporateOfferFactory(
        name="Campus licence", code="campus", structure="bundle", contracts=contracts
    )


def counts() -> tuple[int, ...]:
    return (
        Subscription.objects.count(),
        SubscriptionItem.objects.count(),
        Activity.objects.count(),
        Event.objects.count(),
        PaymentMethod.objects.count(),
    )


def test_create_copies_what_billing_needs_from_the_contracts(customer, bundle_offer, staff_user):
    sub = corporate_subscription_create(
        customer=customer, corporate_offer=bundle_offer, actor=staff_user, now=NOW
    )

    sub.refresh_from_db()
    assert (sub.offer, sub.corporate_offer, sub.is_corporate) == (None, bundle_offer, True)
    assert (sub.title, str(sub)) == ("Campus licence", "Campus licence · Uni Musterstadt")
    assert (sub.status, sub.price_amount, sub.currency) == ("active", Decimal("0.00"), "EUR")
    assert (sub.billing_interval_count, sub.billing_interval_unit) == (3, "month")
    assert sub.started_at == NOW
    assert sub.current_period_start == NOW
    assert sub.current_period_end == datetime(2027, 4, 15, 12, 0, tzinfo=BERLIN)
    assert sub.user_count == 25
    assert sub.term is None
    assert sub.commitment_ends_at is None
    assert sub.term_snapshot == {
        "duration_kind": "until_revoked",
        "duration_count": None,
        "duration_unit": "",
        "accounting_period_count": 3,
        "accounting_period_unit": "month",
        "cancellation_period_count": 1,
        "cancellation_period_unit": "month",
        "subscription_interval_count": 1,
        "subscription_interval_unit": "year",
    }
    assert set(sub.term_snapshot) == set(CorporateContract.TERM_FIELDS)
    items = list(
        sub.items.order_by("product__name").values_list("product__name", "bundle", "source")
    )
    assert items == [("Digital edition", None, "included"), ("E-paper", None, "included")]
    assert (sub.payment_method.kind, sub.payment_method.customer) == ("invoice", customer)


def test_create_records_the_activity_and_the_created_event(customer, bundle_offer, staff_user):
    sub = corporate_subscription_create(
        customer=customer, corporate_offer=bundle_offer, actor=staff_user, now=NOW
    )

    activity = Activity.objects.get(subscription=sub)
    assert (activity.verb, activity.actor, activity.message) == (
        "subscription.created",
        staff_user,
        "Corporate subscription to Campus licence created.",
    )
    event = Event.objects.get(type="subscription.created")
    assert event.subject_id == str(sub.public_id)
    assert event.payload == {
        "subscription": str(sub.public_id),
        "customer": str(customer.public_id),
        "offer": None,
        "corporate_offer": "campus",
        "price": "0.00",
        "currency": "EUR",
        "current_period_end": "2027-04-15T10:00:00+00:00",
        "coupon": None,
    }


def test_a_later_start_counts_the_accounting_periods_from_its_midnight(customer):
    offer = CorporateOfferFactory()  # monthly accounting period
    starts_at = datetime(2027, 1, 31, tzinfo=BERLIN)

    sub = corporate_subscription_create(
        customer=customer, corporate_offer=offer, starts_at=starts_at, now=NOW
    )

    assert (sub.started_at, sub.current_period_start) == (starts_at, starts_at)
    assert sub.current_period_end == datetime(2027, 2, 28, tzinfo=BERLIN)
    assert sub.user_count == 0  # unlimited


def test_a_card_on_file_pays_when_chosen(customer):
    card = PaymentMethod.objects.create(
        customer=customer, kind="card", label="Visa •••• 4242", token="tok_1"
    )

    sub = corporate_subscription_create(
        customer=customer, corporate_offer=CorporateOfferFactory(), payment_method=card, now=NOW
    )

    assert sub.payment_method == card


def _refusal_cases():
    return {
        "draft offer": (
            lambda c: {"corporate_offer": CorporateOfferFactory(draft=True)},
            "This corporate offer is not on sale (not active or outside its validity).",
        ),
        "offer no longer valid": (
            lambda c: {
                "corporate_offer": CorporateOfferFactory(
                    valid_until=datetime(2027, 1, 10, tzinfo=BERLIN)
                )
            },
            "This corporate offer is not on sale (not active or outside its validity).",
        ),
        "offer not valid yet": (
            lambda c: {
                "corporate_offer": CorporateOfferFactory(
                    valid_from=datetime(2027, 2, 1, tzinfo=BERLIN)
                )
            },
            "This corporate offer is not on sale (not active or outside its validity).",
        ),
        "currency differs": (
            lambda c: {
                "corporate_offer": CorporateOfferFactory(
                    contracts=[CorporateContractFactory(currency="CHF")]
                )
            },
            "The corporate offer is in CHF but the customer pays in EUR; choose an offer "
            "in the customer's currency.",
        ),
        "start in the past": (
            lambda c: {
                "corporate_offer": CorporateOfferFactory(),
                "starts_at": datetime(2027, 1, 14, 23, 59, tzinfo=BERLIN),
            },
            "A corporate subscription cannot start in the past.",
        ),
        "another customer's method": (
            lambda c: {
                "corporate_offer": CorporateOfferFactory(),
                "payment_method": PaymentMethod.objects.create(
                    customer=CustomerFactory(), kind="card", label="Visa", token="tok_x"
                ),
            },
            "This payment method is not available. Choose another one.",
        ),
        "unknown method kind": (
            lambda c: {"corporate_offer": CorporateOfferFactory(), "payment_method": "cash"},
            "This payment method is not available. Choose another one.",
        ),
    }


@pytest.mark.parametrize("case", list(_refusal_cases()))
def test_every_refusal_says_why_and_writes_nothing(customer, case):
    make, message = _refusal_cases()[case]
    kwargs = make(customer)
    before = counts()

    with pytest.raises(PurchaseRefused) as refused:
        corporate_subscription_create(customer=customer, now=NOW, **kwargs)

    assert str(refused.value) == message
    assert counts() == before


def test_a_customer_without_a_main_user_is_refused_and_nothing_is_written():
    customer = CustomerFactory(company=True)
    offer = CorporateOfferFactory()
    before = counts()

    with pytest.raises(PurchaseRefused) as refused:
        corporate_subscription_create(customer=customer, corporate_offer=offer, now=NOW)

    assert refused.value.field == "customer"
    assert str(refused.value).startswith("The customer has no main user.")
    assert counts() == before


def test_the_database_refuses_a_subscription_with_both_offers_or_neither():
    corporate = CorporateOfferFactory()
    sub = SubscriptionFactory()

    with transaction.atomic(), pytest.raises(IntegrityError):
        Subscription.objects.filter(pk=sub.pk).update(corporate_offer=corporate)
    with transaction.atomic(), pytest.raises(IntegrityError):
        Subscription.objects.filter(pk=sub.pk).update(offer=None)

    sub.refresh_from_db()
    assert (sub.offer_id is not None, sub.corporate_offer_id) == (True, None)


def test_model_validation_names_the_rule():
    sub = SubscriptionFactory()
    sub.corporate_offer = CorporateOfferFactory()

    with pytest.raises(ValidationError) as error:
        sub.validate_constraints()

    assert error.value.messages == [
        "A subscription is either to an offer or to a corporate offer, never both and "
        "never neither."
    ]


# --- lifecycle ---------------------------------------------------------------------------


@pytest.fixture
def yearly(customer):
    """Started 1 January 2027, invoiced monthly, renewed yearly, cancellable up to one
    month before the year ends."""
    return corporate_subscription_create(
        customer=customer,
        corporate_offer=CorporateOfferFactory(name="Company licence"),
        starts_at=datetime(2027, 1, 1, tzinfo=BERLIN),
        now=datetime(2027, 1, 1, tzinfo=BERLIN),
    )


def test_a_cancellation_takes_effect_at_the_end_of_the_subscription_interval(yearly):
    quote = lifecycle.subscription_cancellation_quote(subscription=yearly, now=NOW)

    assert quote.allowed
    assert quote.takes_effect_at == datetime(2028, 1, 1, tzinfo=BERLIN)
    assert quote.reason == (
        "Your subscription ends on 1 January 2028, at the end of a subscription interval "
        "(the contract's cancellation period applies)."
    )
    cancelled = lifecycle.subscription_cancel(subscription=yearly, now=NOW)
    assert (cancelled.status, cancelled.ends_at) == ("cancelled", quote.takes_effect_at)


def test_a_cancellation_inside_the_cancellation_period_ends_a_year_later(yearly):
    late = datetime(2027, 12, 2, tzinfo=BERLIN)

    quote = lifecycle.subscription_cancellation_quote(subscription=yearly, now=late)

    assert quote.takes_effect_at == datetime(2029, 1, 1, tzinfo=BERLIN)


def test_the_renewal_job_moves_a_corporate_subscription_on_by_its_accounting_period(yearly):
    counts = lifecycle.subscriptions_advance(now=datetime(2027, 3, 10, tzinfo=BERLIN))

    yearly.refresh_from_db()
    assert counts["renewed"] == 1
    assert yearly.current_period_start == datetime(2027, 3, 1, tzinfo=BERLIN)
    assert yearly.current_period_end == datetime(2027, 4, 1, tzinfo=BERLIN)
    assert Event.objects.filter(type="subscription.renewed").count() == 1


# --- portal and admin --------------------------------------------------------------------


def test_the_corporate_admin_sees_the_subscription_in_the_portal(client, customer, yearly):
    client.force_login(customer.main_user)

    listing = client.get(reverse("subscriptions:subscription_list")).content.decode()
    detail = client.get(
        reverse("subscriptions:subscription_detail", args=[yearly.public_id])
    ).content.decode()

    assert "Company licence" in listing
    assert "By usage, invoiced after each accounting period (1 month)" in listing
    assert "Any number of users of your organisation can get access." in detail
    assert "1 month before a subscription interval ends" in detail
    assert "Until revoked" in detail
    assert reverse("seats:seat_list", args=[yearly.public_id]) in detail


def test_the_admin_list_and_page_show_a_corporate_subscription(client, staff_user, yearly):
    client.force_login(staff_user)

    listing = client.get(reverse("admin:subscriptions_subscription_changelist"))
    page = client.get(reverse("admin:subscriptions_subscription_change", args=[yearly.pk]))
    only_corporate = client.get(
        reverse("admin:subscriptions_subscription_changelist"), {"kind": "corporate"}
    )

    assert listing.status_code == page.status_code == 200
    assert "<strong>Corporate</strong>" in listing.content.decode()
    assert "New corporate subscription" in listing.content.decode()
    assert only_corporate.context["cl"].result_count == 1
    assert "Company licence" in page.content.decode()
    assert reverse("admin:seats_seataccount_for_subscription", args=[yearly.pk]) in (
        page.content.decode()
    )


def test_staff_create_a_corporate_subscription_in_the_admin(client, staff_user, customer):
    client.force_login(staff_user)
    offer = CorporateOfferFactory(name="Company licence")
    url = reverse("admin:subscriptions_subscription_add_corporate")

    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"customer": customer.pk, "corporate_offer": offer.pk, "payment_method": "invoice"},
    )

    sub = Subscription.objects.get(corporate_offer=offer)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:subscriptions_subscription_change", args=[sub.pk])
    assert (sub.customer, sub.payment_method.kind, sub.started_at) == (customer, "invoice", NOW)
    assert Activity.objects.get(subscription=sub).actor == staff_user


def test_the_admin_form_shows_the_services_refusal_and_writes_nothing(client, staff_user):
    client.force_login(staff_user)
    customer = CustomerFactory(company=True)  # no main user
    offer = CorporateOfferFactory()
    before = counts()

    response = client.post(
        reverse("admin:subscriptions_subscription_add_corporate"),
        {
            "customer": customer.pk,
            "corporate_offer": offer.pk,
            "starts_on": "2027-01-20",
            "payment_method": "invoice",
        },
    )

    assert response.status_code == 200
    assert (
        response.context["form"].errors["customer"][0].startswith("The customer has no main user.")
    )
    assert counts() == before


def test_the_admin_form_offers_active_corporate_offers_only(client, staff_user):
    client.force_login(staff_user)
    active = CorporateOfferFactory(name="Sellable")
    CorporateOfferFactory(name="Draft", draft=True)

    response = client.get(reverse("admin:subscriptions_subscription_add_corporate"))

    choices = list(response.context["form"].fields["corporate_offer"].queryset)
    assert choices == [active]
    assert CorporateOffer.objects.count() == 2


def test_the_customer_page_lists_the_corporate_subscription(client, staff_user, yearly):
    client.force_login(staff_user)

    response = client.get(reverse("admin:subscriptions_customer_change", args=[yearly.customer_id]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Company licence" in page
    assert "Corporate: by usage" in page
