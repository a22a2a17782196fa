"""subscription_purchase: what it refuses (message, field, nothing written) and what a
purchase copies in (price, interval, user count, term, commitment, items, first period)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction

from catalog.models import Offer, PeriodUnit, Status, Term
from catalog.models import PaymentMethod as PaymentKind
from notifications.events import EventType
from notifications.models import Event
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import Activity, Customer, PaymentMethod, Subscription, SubscriptionItem
from subscriptions.services.payments import payment_method_remove
from subscriptions.services.purchase import INVOICE, subscription_purchase
from tests.factories import (
    BundleFactory,
    OfferFactory,
    PlanFactory,
    ProductFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def make_customer(name: str = "Anna Schmidt", **fields) -> Customer:
    return Customer.objects.create(
        name=name, email=f"{name.split()[0].lower()}@example.com", **fields
    )


def make_card(customer: Customer, *, kind: str = PaymentKind.CARD, **fields) -> PaymentMethod:
    return PaymentMethod.objects.create(
        customer=customer,
        kind=kind,
        gateway="sandbox",
        token=f"tok_{customer.pk}_{kind}",
        label="Visa •••• 4242",
        **fields,
    )


@pytest.fixture
def catalog():
    """A plan: one bundle with a required and an optional product; an add-on bundle it
    lists as compatible (compatible bundles only), one it does not; a 12-month term."""
    paper, archive, podcasts, crossword = (
        ProductFactory(name=n) for n in ("Paper", "Archive", "Podcasts", "Crossword")
    )
    basic = BundleFactory(products=[paper], optional_products=[archive])
    extra = BundleFactory(
        name="Podcasts add-on", products=[podcasts], optional_products=[crossword]
    )
    other = BundleFactory(name="Other add-on")
    term = TermFactory(with_penalty=True)
    plan = PlanFactory(
        bundles=[basic],
        compatible_bundles=[extra],
        compatible_bundles_only=True,
        payment_methods=[PaymentKind.CARD, PaymentKind.INVOICE],
    )
    offer = OfferFactory(
        complex=True, plan=plan, term=term, price_amount=Decimal("9.99"), user_count=2
    )
    return {
        "offer": offer,
        "plan": plan,
        "basic": basic,
        "extra": extra,
        "other": other,
        "paper": paper,
        "archive": archive,
        "podcasts": podcasts,
        "crossword": crossword,
        "term": term,
    }


def counts() -> tuple[int, int, int, int]:
    return (
        Subscription.objects.count(),
        SubscriptionItem.objects.count(),
        Event.objects.count(),
        Activity.objects.count(),
    )


def refused(**purchase) -> PurchaseRefused:
    before = counts()
    with pytest.raises(PurchaseRefused) as info:
        subscription_purchase(now=NOW, **purchase)
    assert counts() == before  # nothing written
    return info.value


# Refusals --------------------------------------------------------------------------


def test_purchase_refuses_an_offer_that_is_not_active(catalog):
    customer = make_customer()
    Offer.objects.filter(pk=catalog["offer"].pk).update(status=Status.ARCHIVED)
    error = refused(customer=customer, offer=catalog["offer"], payment_method=INVOICE)
    assert (str(error), error.field) == ("This offer is not on sale.", "offer")


def test_purchase_refuses_an_offer_outside_its_validity(catalog):
    customer = make_customer()
    Offer.objects.filter(pk=catalog["offer"].pk).update(
        valid_until=datetime(2026, 3, 1, tzinfo=UTC)
    )
    error = refused(customer=customer, offer=catalog["offer"], payment_method=INVOICE)
    assert (str(error), error.field) == ("This offer is not on sale.", "offer")


def test_purchase_refuses_an_offer_whose_plan_is_archived(catalog):
    customer = make_customer()
    type(catalog["plan"]).objects.filter(pk=catalog["plan"].pk).update(status=Status.ARCHIVED)
    error = refused(customer=customer, offer=catalog["offer"], payment_method=INVOICE)
    assert (str(error), error.field) == ("This offer's plan is no longer sold.", "offer")


def test_purchase_refuses_an_offer_whose_product_is_archived():
    offer = OfferFactory()
    type(offer.product).objects.filter(pk=offer.product_id).update(status=Status.ARCHIVED)
    error = refused(customer=make_customer(), offer=offer, payment_method=INVOICE)
    assert (str(error), error.field) == ("This offer's product is no longer sold.", "offer")


def test_purchase_refuses_a_product_that_is_not_optional_in_the_plan(catalog):
    error = refused(
        customer=make_customer(),
        offer=catalog["offer"],
        payment_method=INVOICE,
        optional_products=[catalog["paper"]],  # required, not optional
    )
    assert str(error) == "Paper is not an optional product of this offer."
    assert error.field == "optional_products"


def test_purchase_refuses_an_optional_product_of_an_add_on_bundle(catalog):
    error = refused(
        customer=make_customer(),
        offer=catalog["offer"],
        payment_method=INVOICE,
        optional_products=[catalog["crossword"]],
    )
    assert (str(error), error.field) == (
        "Crossword is not an optional product of this offer.",
        "optional_products",
    )


def test_purchase_refuses_an_add_on_outside_the_compatible_list(catalog):
    error = refused(
        customer=make_customer(),
        offer=catalog["offer"],
        payment_method=INVOICE,
        addon_bundles=[catalog["other"]],
    )
    assert (str(error), error.field) == (
        "Other add-on cannot be added to this offer.",
        "addon_bundles",
    )


def test_purchase_refuses_a_bundle_already_in_the_plan_as_add_on(catalog):
    plan = catalog["plan"]
    plan.compatible_bundles_only = False
    plan.save()
    error = refused(
        customer=make_customer(),
        offer=catalog["offer"],
        payment_method=INVOICE,
        addon_bundles=[catalog["basic"]],
    )
    assert error.field == "addon_bundles"
    assert str(error) == f"{catalog['basic'].name} cannot be added to this offer."


def test_purchase_refuses_an_inactive_add_on(catalog):
    type(catalog["extra"]).objects.filter(pk=catalog["extra"].pk).update(status=Status.ARCHIVED)
    error = refused(
        customer=make_customer(),
        offer=catalog["offer"],
        payment_method=INVOICE,
        addon_bundles=[catalog["extra"]],
    )
    assert (str(error), error.field) == (
        "Podcasts add-on cannot be added to this offer.",
        "addon_bundles",
    )


def test_without_compatible_only_any_active_bundle_valid_now_is_an_add_on(catalog):
    plan = catalog["plan"]
    plan.compatible_bundles_only = False
    plan.save()
    later = BundleFactory(name="Later add-on", valid_from=datetime(2026, 6, 1, tzinfo=UTC))
    subscription = subscription_purchase(
        customer=make_customer(),
        offer=catalog["offer"],
        payment_method=INVOICE,
        now=NOW,
        addon_bundles=[catalog["other"]],
    )
    assert subscription.items.filter(source="addon").count() == 1
    error = refused(
        customer=make_customer("Ben Berg"),
        offer=catalog["offer"],
        payment_method=INVOICE,
        addon_bundles=[later],
    )
    assert (str(error), error.field) == (
        "Later add-on cannot be added to this offer.",
        "addon_bundles",
    )


def test_purchase_refuses_another_customers_payment_method(catalog):
    card = make_card(make_customer("Ben Berg"))
    error = refused(customer=make_customer(), offer=catalog["offer"], payment_method=card)
    assert (str(error), error.field) == (
        "This payment method is not available. Choose another one.",
        "payment_method",
    )


def test_purchase_refuses_a_removed_payment_method(catalog):
    customer = make_customer()
    card = make_card(customer, status=PaymentMethod.Status.REMOVED)
    error = refused(customer=customer, offer=catalog["offer"], payment_method=card)
    assert (str(error), error.field) == (
        "This payment method is not available. Choose another one.",
        "payment_method",
    )


def test_purchase_refuses_a_payment_method_the_plan_does_not_support(catalog):
    customer = make_customer()
    sepa = make_card(customer, kind=PaymentKind.SEPA_DIRECT_DEBIT)
    error = refused(customer=customer, offer=catalog["offer"], payment_method=sepa)
    assert (str(error), error.field) == (
        "This offer cannot be paid by SEPA direct debit.",
        "payment_method",
    )


def test_purchase_refuses_invoice_when_the_plan_does_not_support_it(catalog):
    plan = catalog["plan"]
    plan.payment_methods = [PaymentKind.CARD]
    plan.save()
    customer = make_customer()
    error = refused(customer=customer, offer=catalog["offer"], payment_method=INVOICE)
    assert (str(error), error.field) == (
        "This offer cannot be paid by Invoice / bank transfer.",
        "payment_method",
    )
    assert not customer.payment_methods.exists()


def test_paid_offer_needs_a_payment_method(catalog):
    error = refused(customer=make_customer(), offer=catalog["offer"])
    assert (str(error), error.field) == ("Choose how you want to pay.", "payment_method")


@pytest.mark.parametrize("code", ["WELCOME10", "x", " free-month "])
def test_an_unknown_coupon_code_is_refused_clearly(catalog, code):
    error = refused(
        customer=make_customer(), offer=catalog["offer"], payment_method=INVOICE, coupon_code=code
    )
    assert str(error) == "This code is not valid."
    assert error.field == "coupon_code"


# A purchase -----------------------------------------------------------------------


def test_purchase_copies_what_was_sold(catalog, django_capture_on_commit_callbacks):
    customer = make_customer()
    card = make_card(customer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        subscription = subscription_purchase(
            customer=customer,
            offer=catalog["offer"],
            optional_products=[catalog["archive"]],
            addon_bundles=[catalog["extra"]],
            payment_method=card,
            now=NOW,
        )
        assert Event.objects.get().dispatched_at is None  # not before the commit
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert (subscription.price_amount, subscription.currency) == (Decimal("9.99"), "EUR")
    assert (subscription.billing_interval_count, subscription.billing_interval_unit) == (1, "month")
    assert subscription.user_count == 2
    assert subscription.term == catalog["term"]
    assert subscription.term_snapshot["commitment_count"] == 12
    assert subscription.term_snapshot["commitment_unit"] == "month"
    assert subscription.term_snapshot["early_cancellation"] == "penalty"
    assert subscription.term_snapshot["penalty_fee_amount"] == "50.00"
    assert subscription.started_at == NOW
    assert subscription.commitment_starts_at == NOW
    assert subscription.commitment_ends_at == datetime(2027, 3, 10, 9, 30, tzinfo=UTC)
    assert subscription.current_period_start == NOW
    # Months count on the merchant's wall clock (Europe/Berlin): 10:30 CET -> 10:30 CEST.
    assert subscription.current_period_end == datetime(2026, 4, 10, 8, 30, tzinfo=UTC)
    assert subscription.payment_method == card
    items = {(i.product.name, i.source, i.bundle_id) for i in subscription.items.all()}
    assert items == {
        ("Paper", "included", catalog["basic"].pk),
        ("Archive", "optional", catalog["basic"].pk),
        ("Podcasts", "addon", catalog["extra"].pk),  # the add-on's required product only
    }
    activity = Activity.objects.get(subscription=subscription)
    assert (activity.customer, activity.verb) == (customer, "subscription.created")
    event = Event.objects.get()
    assert event.type == EventType.SUBSCRIPTION_CREATED
    assert event.subject_id == str(subscription.public_id)
    assert event.payload == {
        "subscription": str(subscription.public_id),
        "customer": str(customer.public_id),
        "offer": catalog["offer"].code,
        "price": "9.99",
        "currency": "EUR",
        "current_period_end": "2026-04-10T08:30:00+00:00",
        "corporate_offer": None,
        "coupon": None,
    }
    assert len(callbacks) == 2  # dispatch queued after commit, then its sends
    assert Event.objects.get().dispatched_at is not None


def test_a_later_offer_price_change_leaves_the_subscription_as_sold(catalog):
    customer = make_customer()
    subscription = subscription_purchase(
        customer=customer, offer=catalog["offer"], payment_method=INVOICE, now=NOW
    )
    offer = catalog["offer"]
    offer.price_amount = Decimal("14.99")
    offer.user_count = 5
    offer.save()
    subscription.refresh_from_db()
    assert (subscription.price_amount, subscription.user_count) == (Decimal("9.99"), 2)


def test_invoice_payment_creates_the_customers_invoice_method_once(catalog):
    customer = make_customer()
    first = subscription_purchase(
        customer=customer, offer=catalog["offer"], payment_method=INVOICE, now=NOW
    )
    second = subscription_purchase(
        customer=customer, offer=catalog["offer"], payment_method=INVOICE, now=NOW
    )
    method = PaymentMethod.objects.get(customer=customer)
    assert method.kind == "invoice"
    assert first.payment_method == second.payment_method == method


def test_single_product_has_no_period_and_includes_its_product():
    offer = OfferFactory(single_product=True, price_amount=Decimal("49.00"))
    subscription = subscription_purchase(
        customer=make_customer(), offer=offer, payment_method=INVOICE, now=NOW
    )
    assert (subscription.current_period_start, subscription.current_period_end) == (None, None)
    assert (subscription.billing_interval_count, subscription.billing_interval_unit) == (None, "")
    assert [(i.product, i.source, i.bundle) for i in subscription.items.all()] == [
        (offer.product, "included", None)
    ]
    assert (subscription.term, subscription.term_snapshot, subscription.commitment_ends_at) == (
        None,
        {},
        None,
    )


def test_free_offer_needs_no_payment_method():
    offer = OfferFactory(price_amount=Decimal("0.00"), billing_interval_unit=PeriodUnit.YEAR)
    subscription = subscription_purchase(customer=make_customer(), offer=offer, now=NOW)
    assert subscription.payment_method is None
    assert subscription.current_period_end == datetime(2027, 3, 10, 9, 30, tzinfo=UTC)


def test_billing_cycle_commitment_counts_the_offers_interval():
    term = TermFactory(billing_cycles=True, commitment_count=3)
    offer = OfferFactory(
        term=term, billing_interval_count=2, billing_interval_unit=PeriodUnit.MONTH
    )
    with time_machine.travel(NOW, tick=False):
        subscription = subscription_purchase(
            customer=make_customer(), offer=offer, payment_method=INVOICE
        )
    assert subscription.started_at == NOW
    assert subscription.commitment_ends_at == datetime(2026, 9, 10, 8, 30, tzinfo=UTC)  # CEST


def test_the_buying_portal_user_becomes_the_main_user_when_there_is_none(
    catalog, django_user_model
):
    customer = make_customer()
    user = django_user_model.objects.create_user(email="anna@example.com", customer=customer)
    staff = django_user_model.objects.create_user(email="staff@example.com", is_staff=True)
    subscription_purchase(
        customer=customer, offer=catalog["offer"], payment_method=INVOICE, actor=staff, now=NOW
    )
    customer.refresh_from_db()
    assert customer.main_user is None  # staff never become a customer's main user
    subscription_purchase(
        customer=customer, offer=catalog["offer"], payment_method=INVOICE, actor=user, now=NOW
    )
    customer.refresh_from_db()
    assert customer.main_user == user


# Stale input, repeated purchases, terms edited after the offer --------------------------


def test_purchase_refuses_a_payment_method_removed_since_it_was_loaded(catalog):
    customer = make_customer()
    card = make_card(customer)
    stale = PaymentMethod.objects.get(pk=card.pk)  # as the checkout form loaded it
    payment_method_remove(payment_method=card)
    assert stale.status == PaymentMethod.Status.ACTIVE

    error = refused(customer=customer, offer=catalog["offer"], payment_method=stale)

    assert (str(error), error.field) == (
        "This payment method is not available. Choose another one.",
        "payment_method",
    )


def test_purchase_with_a_key_used_before_returns_that_subscription_and_writes_nothing(catalog):
    customer = make_customer()
    key = uuid.UUID("6f1c1a52-1d55-4f0e-9a0e-2b1c7d9e4a11")
    first = subscription_purchase(
        customer=customer,
        offer=catalog["offer"],
        payment_method=INVOICE,
        purchase_key=key,
        now=NOW,
    )
    before = counts()

    again = subscription_purchase(
        customer=customer,
        offer=catalog["offer"],
        payment_method=INVOICE,
        purchase_key=key,
        now=NOW,
    )

    assert (again, again.purchase_key) == (first, key)
    assert counts() == before  # no subscription, item, event or activity
    assert Event.objects.filter(type=EventType.SUBSCRIPTION_CREATED).count() == 1


def test_purchases_without_a_key_or_with_another_key_are_new_purchases(catalog):
    customer = make_customer()
    for key in (None, None, uuid.uuid4(), uuid.uuid4()):
        subscription_purchase(
            customer=customer,
            offer=catalog["offer"],
            payment_method=INVOICE,
            purchase_key=key,
            now=NOW,
        )
    assert customer.subscriptions.count() == 4


def test_the_same_key_of_another_customer_is_another_purchase(catalog):
    key = uuid.uuid4()
    anna, ben = make_customer(), make_customer("Ben Berg")
    for customer in (anna, ben):
        subscription_purchase(
            customer=customer,
            offer=catalog["offer"],
            payment_method=INVOICE,
            purchase_key=key,
            now=NOW,
        )
    assert (anna.subscriptions.count(), ben.subscriptions.count()) == (1, 1)


def test_the_database_refuses_a_second_subscription_with_the_same_key(catalog):
    first = subscription_purchase(
        customer=make_customer(),
        offer=catalog["offer"],
        payment_method=INVOICE,
        purchase_key=uuid.uuid4(),
        now=NOW,
    )
    first.pk, first.public_id = None, uuid.uuid4()
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save()


def test_purchase_refuses_a_one_time_offer_whose_term_now_counts_billing_cycles():
    """Offer.clean refuses the pairing; a term edited afterwards can still bring it."""
    term = TermFactory()
    offer = OfferFactory(single_product=True, term=term, price_amount=Decimal("19.00"))
    Term.objects.filter(pk=term.pk).update(commitment_basis="billing_cycles", commitment_unit="")

    error = refused(customer=make_customer(), offer=offer, payment_method=INVOICE)

    assert (str(error), error.field) == (
        "This offer cannot be bought: its term counts billing cycles, which a one-time "
        "purchase does not have.",
        "offer",
    )
    assert not PaymentMethod.objects.exists()  # not even the invoice method


def test_a_one_time_offer_on_a_calendar_term_is_bought_with_its_commitment():
    offer = OfferFactory(single_product=True, term=TermFactory(), price_amount=Decimal("19.00"))
    subscription = subscription_purchase(
        customer=make_customer(), offer=offer, payment_method=INVOICE, now=NOW
    )
    assert (subscription.current_period_end, subscription.commitment_ends_at) == (
        None,
        datetime(2027, 3, 10, 9, 30, tzinfo=UTC),
    )
