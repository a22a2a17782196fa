"""Payment method services: adding through the gateway, removing, and changing the
method that pays for a subscription."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from notifications.models import Event
from subscriptions.exceptions import PaymentRefused
from subscriptions.models import Activity, Customer, PaymentMethod, Subscription
from subscriptions.services.payments import (
    payment_method_add,
    payment_method_charge,
    payment_method_remove,
    subscription_change_payment_method,
)
from tests.factories import OfferFactory, PlanFactory

pytestmark = pytest.mark.django_db

CARD_NUMBER = "4242424242424242"
IBAN = "DE89370400440532013000"
NEXT_YEAR = str(timezone.localdate().year + 1)


def card(number: str = CARD_NUMBER, **changes) -> dict:
    return {"number": number, "exp_month": "8", "exp_year": NEXT_YEAR, "cvc": "123"} | changes


def sepa(iban: str = IBAN) -> dict:
    return {"iban": iban, "account_holder": "Anna Schmidt"}


def make_customer(name: str = "Anna Schmidt") -> Customer:
    return Customer.objects.create(name=name, email=f"{name.split()[0].lower()}@example.com")


def make_subscription(customer, offer=None, payment_method=None, **fields) -> Subscription:
    offer = offer or OfferFactory(complex=True, plan=PlanFactory(payment_methods=["card"]))
    return Subscription.objects.create(
        customer=customer,
        offer=offer,
        price_amount=offer.price_amount,
        currency=offer.currency,
        billing_interval_count=1,
        billing_interval_unit="month",
        started_at=datetime(2026, 3, 1, tzinfo=UTC),
        payment_method=payment_method,
        **fields,
    )


# Adding


def test_add_card_stores_the_token_and_label_never_the_number():
    customer = make_customer()

    method = payment_method_add(customer=customer, kind="card", details=card())

    row = PaymentMethod.objects.values().get(pk=method.pk)
    assert row["customer_id"] == customer.pk
    assert (row["kind"], row["gateway"], row["status"]) == ("card", "sandbox", "active")
    assert row["label"] == "Visa •••• 4242"
    assert (row["expires_month"], row["expires_year"]) == (8, int(NEXT_YEAR))
    assert row["token"].startswith("sandbox_pm_succeeds_")
    assert all(CARD_NUMBER not in str(value) for value in row.values())
    assert all(
        CARD_NUMBER not in str(value)
        for activity in Activity.objects.values()
        for value in activity.values()
    )


def test_add_sepa_stores_the_mandate_reference_never_the_iban():
    customer = make_customer()

    method = payment_method_add(customer=customer, kind="sepa_debit", details=sepa())

    row = PaymentMethod.objects.values().get(pk=method.pk)
    assert row["label"] == "SEPA DE89 •••• 3000"
    assert row["mandate_reference"].startswith("KONTOR-")
    assert (row["expires_month"], row["expires_year"]) == (None, None)
    assert all(IBAN not in str(value) for value in row.values())
    assert Activity.objects.get().verb == "payment_method.added"


def test_add_invoice_needs_no_details_and_is_kept_once():
    customer = make_customer()

    first = payment_method_add(customer=customer, kind="invoice")
    second = payment_method_add(customer=customer, kind="invoice")

    assert second == first
    assert (first.kind, first.token, first.gateway) == ("invoice", "", "")
    assert PaymentMethod.objects.count() == 1
    assert Activity.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "details", "code", "message"),
    [
        ("card", card("4242424242424241"), "incorrect_number", "This card number is not valid."),
        ("card", card(exp_year="2020"), "expired_card", "This card has expired."),
        (
            "sepa_debit",
            sepa("DE89370400440532013001"),
            "invalid_iban",
            "This IBAN is not valid; please check it for typing errors.",
        ),
        ("paypal", {}, "unsupported_kind", "Choose a card, SEPA direct debit or invoice."),
    ],
)
def test_add_refusals_have_a_clear_message_and_store_nothing(kind, details, code, message):
    customer = make_customer()

    with pytest.raises(PaymentRefused) as refused:
        payment_method_add(customer=customer, kind=kind, details=details)

    assert (refused.value.code, str(refused.value)) == (code, message)
    assert PaymentMethod.objects.count() == 0
    assert Activity.objects.count() == 0
    assert Event.objects.count() == 0


# Removing


def test_remove_marks_the_method_removed_and_detaches_it_after_commit(
    django_capture_on_commit_callbacks, caplog
):
    method = payment_method_add(customer=make_customer(), kind="card", details=card())

    with django_capture_on_commit_callbacks(execute=True):
        payment_method_remove(payment_method=method)

    method.refresh_from_db()
    assert method.status == "removed"
    assert f"Sandbox detached …{method.token[-4:]}" in caplog.messages
    assert method.token not in caplog.text
    assert Activity.objects.filter(verb="payment_method.removed").count() == 1


def test_remove_is_refused_while_a_running_subscription_pays_with_it():
    customer = make_customer()
    method = payment_method_add(customer=customer, kind="card", details=card())
    subscription = make_subscription(customer, payment_method=method)

    with pytest.raises(PaymentRefused) as refused:
        payment_method_remove(payment_method=method)

    assert refused.value.code == "in_use"
    assert str(refused.value) == (
        f"Visa •••• 4242 pays for {subscription.offer.name}. "
        "Choose another payment method there first."
    )
    method.refresh_from_db()
    assert method.status == "active"


def test_remove_is_allowed_when_the_subscription_has_ended():
    customer = make_customer()
    method = payment_method_add(customer=customer, kind="card", details=card())
    make_subscription(
        customer, payment_method=method, status="ended", ended_at=datetime(2026, 4, 1, tzinfo=UTC)
    )

    assert payment_method_remove(payment_method=method).status == "removed"


# Changing a subscription's method


def test_change_sets_the_method_writes_history_and_emits_the_event():
    customer = make_customer()
    old = payment_method_add(customer=customer, kind="card", details=card())
    offer = OfferFactory(complex=True, plan=PlanFactory(payment_methods=["card", "sepa_debit"]))
    subscription = make_subscription(customer, offer=offer, payment_method=old)
    new = payment_method_add(customer=customer, kind="sepa_debit", details=sepa())

    changed = subscription_change_payment_method(subscription=subscription, payment_method=new)

    subscription.refresh_from_db()
    assert changed.payment_method == subscription.payment_method == new
    activity = Activity.objects.get(verb="subscription.payment_method_changed")
    assert (activity.subscription, activity.message) == (
        subscription,
        "Visa •••• 4242 → SEPA DE89 •••• 3000",
    )
    event = Event.objects.get()
    assert event.type == "subscription.payment_method_changed"
    assert (event.subject_type, event.subject_id) == (
        "subscriptions.subscription",
        str(subscription.public_id),
    )
    assert event.payload == {
        "subscription": str(subscription.public_id),
        "customer": str(customer.public_id),
        "kind": "sepa_debit",
        "label": "SEPA DE89 •••• 3000",
    }


def test_choosing_the_method_already_in_use_changes_nothing():
    customer = make_customer()
    method = payment_method_add(customer=customer, kind="card", details=card())
    subscription = make_subscription(customer, payment_method=method)

    subscription_change_payment_method(subscription=subscription, payment_method=method)

    assert Event.objects.count() == 0


def test_change_to_a_method_the_plan_does_not_support_is_refused():
    customer = make_customer()
    subscription = make_subscription(customer)  # the plan takes cards only
    method = payment_method_add(customer=customer, kind="sepa_debit", details=sepa())

    with pytest.raises(PaymentRefused) as refused:
        subscription_change_payment_method(subscription=subscription, payment_method=method)

    assert refused.value.code == "not_supported_by_plan"
    assert str(refused.value) == f"{subscription.offer.name} cannot be paid by SEPA direct debit."
    subscription.refresh_from_db()
    assert subscription.payment_method is None
    assert Event.objects.count() == 0


def test_a_product_offer_accepts_every_kind():
    customer = make_customer()
    subscription = make_subscription(customer, offer=OfferFactory())
    method = payment_method_add(customer=customer, kind="invoice")

    subscription_change_payment_method(subscription=subscription, payment_method=method)

    subscription.refresh_from_db()
    assert subscription.payment_method == method


def test_change_to_another_customers_method_is_refused():
    subscription = make_subscription(make_customer())
    strangers = payment_method_add(
        customer=make_customer("Bert Bauer"), kind="card", details=card()
    )

    with pytest.raises(PaymentRefused) as refused:
        subscription_change_payment_method(subscription=subscription, payment_method=strangers)

    assert (refused.value.code, str(refused.value)) == (
        "not_yours",
        "This payment method belongs to another customer account.",
    )
    assert Event.objects.count() == 0
    assert not Activity.objects.filter(verb="subscription.payment_method_changed").exists()


def test_change_to_a_removed_method_is_refused():
    customer = make_customer()
    subscription = make_subscription(customer)
    method = payment_method_add(customer=customer, kind="card", details=card())
    payment_method_remove(payment_method=method)

    with pytest.raises(PaymentRefused) as refused:
        subscription_change_payment_method(subscription=subscription, payment_method=method)

    assert refused.value.code == "not_active"
    assert Event.objects.count() == 0


def test_change_of_an_ended_subscription_is_refused():
    customer = make_customer()
    subscription = make_subscription(
        customer, status="ended", ended_at=datetime(2026, 4, 1, tzinfo=UTC)
    )
    method = payment_method_add(customer=customer, kind="card", details=card())

    with pytest.raises(PaymentRefused) as refused:
        subscription_change_payment_method(subscription=subscription, payment_method=method)

    assert refused.value.code == "subscription_ended"


class BrokenGateway:
    """A gateway whose provider is down."""

    name = "broken"

    def create_payment_method(self, *, kind, details):
        raise ConnectionError("provider unreachable")

    def charge(self, **kwargs):
        raise ConnectionError("provider unreachable")

    def detach(self, token):
        raise ConnectionError("provider unreachable")


@override_settings(KONTOR_PAYMENT_GATEWAY="tests.subscriptions.test_payment_methods.BrokenGateway")
def test_a_gateway_outage_is_a_temporary_refusal_and_stores_nothing():
    with pytest.raises(PaymentRefused) as refused:
        payment_method_add(customer=make_customer(), kind="card", details=card())

    assert (refused.value.code, refused.value.temporary) == ("gateway_unavailable", True)
    assert str(refused.value) == (
        "Our payment provider could not be reached. Please try again in a few minutes."
    )
    assert PaymentMethod.objects.count() == 0


def test_a_failed_detach_after_removing_is_logged_not_raised(
    django_capture_on_commit_callbacks, caplog
):
    method = payment_method_add(customer=make_customer(), kind="card", details=card())

    with (
        override_settings(
            KONTOR_PAYMENT_GATEWAY="tests.subscriptions.test_payment_methods.BrokenGateway"
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        payment_method_remove(payment_method=method)

    method.refresh_from_db()
    assert method.status == "removed"
    assert f"Could not detach payment method {method.public_id} at the gateway" in caplog.messages


# Charging (for billing and dunning)


def charge(method, key="invoice-1-attempt-1"):
    return payment_method_charge(
        payment_method=method,
        amount=Decimal("9.90"),
        currency="EUR",
        idempotency_key=f"{key}-{method.public_id}",
        description="Invoice 1",
    )


@pytest.mark.parametrize(
    ("kind", "details", "status", "code"),
    [
        ("card", card(), "succeeded", ""),
        ("card", card("4000000000009995"), "declined", "insufficient_funds"),
        ("card", card("4000000000000119"), "failed_temporarily", "processing_error"),
        ("sepa_debit", sepa("DE62370400440532013001"), "declined", "debit_declined"),
    ],
)
def test_charge_goes_through_the_gateway_of_the_method(kind, details, status, code):
    method = payment_method_add(customer=make_customer(), kind=kind, details=details)

    first = charge(method)

    assert (first.status, first.error_code) == (status, code)
    assert charge(method) == first


def test_charging_a_removed_method_is_declined_without_a_charge():
    method = payment_method_add(customer=make_customer(), kind="card", details=card())
    payment_method_remove(payment_method=method)
    method.refresh_from_db()

    result = charge(method)

    assert (result.status, result.reference, result.error_code) == (
        "declined",
        "",
        "payment_method_removed",
    )


def test_charging_a_method_of_another_gateway_is_declined_without_a_charge():
    method = payment_method_add(customer=make_customer(), kind="card", details=card())
    PaymentMethod.objects.filter(pk=method.pk).update(gateway="stripe")
    method.refresh_from_db()

    assert charge(method).error_code == "gateway_mismatch"


def test_invoice_methods_are_not_charged():
    method = payment_method_add(customer=make_customer(), kind="invoice")

    with pytest.raises(ValueError, match="not charged through a gateway"):
        charge(method)
