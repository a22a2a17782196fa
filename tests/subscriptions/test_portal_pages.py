"""The portal's subscription list and detail pages: the owner sees their own
subscriptions, another customer gets 404, the anonymous visitor the login page; fixed
query counts. The helpers here build customers and subscriptions for the other portal
tests too."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from subscriptions.models import Customer, PaymentMethod, Subscription, SubscriptionItem, User
from subscriptions.services.lifecycle import term_values
from tests.factories import BundleFactory, OfferFactory, ProductFactory, TermFactory

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
# 1 April 00:00 in Berlin is 31 March 22:00 UTC: the page must show 1 April.
PERIOD_END = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
COMMITMENT_END = datetime(2027, 2, 28, 23, 0, tzinfo=UTC)


def make_customer(email: str, *, name: str = "Anna Schmidt", kind: str = "person") -> Customer:
    customer = Customer.objects.create(name=name, kind=kind, email=email, country="DE")
    user = User.objects.create_user(email=email, password="pw-portal-1", customer=customer)
    customer.main_user = user
    customer.save(update_fields=["main_user"])
    return customer


def make_payment_method(customer: Customer) -> PaymentMethod:
    return PaymentMethod.objects.create(
        customer=customer, kind="card", gateway="sandbox", token="tok_1", label="Visa •••• 4242"
    )


def make_subscription(customer: Customer, *, name: str = "Daily News", **fields) -> Subscription:
    """A monthly subscription at 9.90 EUR with one included product, one optional product
    and one add-on, on a 12-month term with a one-month cancellation period (or `term=`),
    started on 1 March 2026 (Berlin: 12:00)."""
    included, optional, addon = (
        ProductFactory(name=f"{name} e-paper"),
        ProductFactory(name=f"{name} archive"),
        ProductFactory(name=f"{name} puzzles"),
    )
    bundle = BundleFactory(name=f"{name} basics", products=[included], optional_products=[optional])
    extra = BundleFactory(name=f"{name} extras", products=[addon])
    term = fields.pop("term", None) or TermFactory(
        name="12 months", notice_period_count=1, notice_period_unit="month"
    )
    offer = OfferFactory(name=name, term=term)
    values = {
        "customer": customer,
        "offer": offer,
        "price_amount": Decimal("9.90"),
        "currency": "EUR",
        "billing_interval_count": 1,
        "billing_interval_unit": "month",
        "term": term,
        "term_snapshot": term_values(term).to_snapshot(),
        "started_at": STARTED,
        "commitment_starts_at": STARTED,
        "commitment_ends_at": COMMITMENT_END,
        "current_period_start": STARTED,
        "current_period_end": PERIOD_END,
        **fields,
    }
    subscription = Subscription.objects.create(**values)
    SubscriptionItem.objects.bulk_create(
        [
            SubscriptionItem(
                subscription=subscription, bundle=bundle, product=included, source="included"
            ),
            SubscriptionItem(
                subscription=subscription, bundle=bundle, product=optional, source="optional"
            ),
            SubscriptionItem(
                subscription=subscription, bundle=extra, product=addon, source="addon"
            ),
        ]
    )
    return subscription


@pytest.fixture
def owner() -> Customer:
    return make_customer("anna@example.com")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner.main_user)
    return client


def test_list_shows_the_customers_subscriptions_with_price_and_dates(owner_client, owner):
    make_subscription(owner, payment_method=make_payment_method(owner))
    make_subscription(
        owner,
        name="Weekend",
        status="cancelled",
        cancelled_at=datetime(2026, 3, 10, tzinfo=UTC),
        ends_at=PERIOD_END,
    )
    make_subscription(make_customer("ben@example.com", name="Ben"), name="Not Annas")

    response = owner_client.get("/portal/subscriptions/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="subscription-card"') == 2
    assert "Daily News" in html
    assert "Weekend" in html
    assert "Not Annas" not in html
    assert "<dd>€9.90 / month</dd>" in html
    assert "<dt>Next billing date</dt><dd>April 1, 2026</dd>" in html
    assert "<dt>Commitment ends</dt><dd>March 1, 2027</dd>" in html
    assert "<dt>Ends on</dt><dd>April 1, 2026</dd>" in html


def test_list_formats_money_and_dates_in_german(owner_client, owner):
    make_subscription(owner)
    owner_client.cookies["django_language"] = "de"

    html = owner_client.get("/portal/subscriptions/").content.decode()

    assert '<html lang="de">' in html
    assert "9,90\xa0€ / " in html
    assert "1. April 2026" in html


def test_list_shows_the_empty_state_without_subscriptions(owner_client):
    html = owner_client.get("/portal/subscriptions/").content.decode()

    assert "You have no subscriptions yet" in html


@pytest.mark.parametrize("count", [1, 5])
def test_list_takes_a_fixed_number_of_queries(
    owner_client, owner, count, django_assert_num_queries
):
    for n in range(count):
        make_subscription(owner, name=f"Offer {n}", payment_method=make_payment_method(owner))

    # Session, user, customer, subscriptions with offer/term/payment method, their items.
    with django_assert_num_queries(5):
        response = owner_client.get("/portal/subscriptions/")

    assert response.content.decode().count('class="subscription-card"') == count


def test_detail_groups_products_and_shows_term_and_payment_method(owner_client, owner):
    subscription = make_subscription(owner, payment_method=make_payment_method(owner))

    response = owner_client.get(f"/portal/subscriptions/{subscription.public_id}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Daily News</h1>" in html
    included = html.index(">Included</h3>")
    optional = html.index(">Optional products</h3>")
    addons = html.index(">Add-ons</h3>")
    assert included < html.index("Daily News e-paper") < optional
    assert optional < html.index("Daily News archive") < addons
    assert addons < html.index("Daily News puzzles")
    assert "<dt>Cancellation period</dt><dd>1 month before a period ends</dd>" in html
    assert "<dt>Ending the commitment early</dt><dd>Allowed</dd>" in html
    assert "Visa •••• 4242" in html
    payment_url = reverse(
        "subscriptions:subscription_payment_method", args=[subscription.public_id]
    )
    assert f'href="{payment_url}"' in html
    cancel_url = reverse("subscriptions:subscription_cancel", args=[subscription.public_id])
    assert f'href="{cancel_url}"' in html


def test_detail_of_a_cancelled_subscription_offers_undo(owner_client, owner):
    subscription = make_subscription(
        owner,
        status="cancelled",
        cancelled_at=datetime(2026, 3, 10, tzinfo=UTC),
        ends_at=PERIOD_END,
    )

    html = owner_client.get(f"/portal/subscriptions/{subscription.public_id}/").content.decode()

    undo_url = reverse(
        "subscriptions:subscription_undo_cancellation", args=[subscription.public_id]
    )
    assert f'action="{undo_url}"' in html
    assert "<dt>Ends on</dt><dd>April 1, 2026</dd>" in html
    assert "Cancel subscription" not in html


@pytest.mark.parametrize("count", [1, 5])
def test_detail_takes_a_fixed_number_of_queries(
    owner_client, owner, count, django_assert_num_queries
):
    subscription = make_subscription(owner, payment_method=make_payment_method(owner))
    for n in range(count - 1):
        make_subscription(owner, name=f"Other {n}")

    # Session, user, customer, the subscription, its items, its charges awaiting an invoice.
    with django_assert_num_queries(6):
        response = owner_client.get(f"/portal/subscriptions/{subscription.public_id}/")

    assert response.status_code == 200


def test_another_customers_subscription_is_not_found(client, owner):
    subscription = make_subscription(owner)
    client.force_login(make_customer("ben@example.com", name="Ben").main_user)

    response = client.get(f"/portal/subscriptions/{subscription.public_id}/")

    assert response.status_code == 404


def test_a_user_without_customer_account_gets_404(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(email="x@example.com", password="x"))

    assert client.get("/portal/subscriptions/").status_code == 404


@pytest.mark.parametrize("name", ["subscription_list", "subscription_detail"])
def test_anonymous_visitor_is_sent_to_the_login_page(client, owner, name):
    subscription = make_subscription(owner)
    args = [subscription.public_id] if name == "subscription_detail" else []
    url = reverse(f"subscriptions:{name}", args=args)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/portal/login/?next={url}"


def test_home_lists_the_customers_running_subscriptions(owner_client, owner):
    make_subscription(owner)
    make_subscription(owner, name="Old one", status="ended", ended_at=STARTED)

    html = owner_client.get("/portal/").content.decode()

    assert "Daily News" in html
    assert "Old one" not in html
    assert "You have no subscriptions yet" not in html
    assert 'href="/portal/subscriptions/"' in html


@pytest.mark.parametrize("count", [1, 5])
def test_home_takes_a_fixed_number_of_queries(
    owner_client, owner, count, django_assert_num_queries
):
    for n in range(count):
        make_subscription(owner, name=f"Offer {n}")

    # Session, user, customer, the newest three subscriptions, their items.
    with django_assert_num_queries(5):
        html = owner_client.get("/portal/").content.decode()

    assert html.count('class="subscription-card"') == min(count, 3)


def test_nav_links_to_subscriptions_payment_methods_and_account(owner_client):
    html = owner_client.get("/portal/subscriptions/").content.decode()

    assert '<a href="/portal/subscriptions/" aria-current="page">Subscriptions</a>' in html
    assert '<a href="/portal/payment-methods/">Payment methods</a>' in html
    assert '<a href="/portal/account/">Account</a>' in html


@pytest.mark.parametrize(
    "name", ["subscription_list", "subscription_detail", "subscription_cancel", "account"]
)
def test_portal_page_has_no_inline_code_and_a_strict_policy(owner_client, owner, name):
    subscription = make_subscription(
        owner, status="cancelled", cancelled_at=STARTED, ends_at=PERIOD_END
    )
    make_subscription(owner, name="Active one")
    args = [] if name in ("subscription_list", "account") else [subscription.public_id]

    response = owner_client.get(reverse(f"subscriptions:{name}", args=args))

    assert response.status_code == 200
    html = response.content.decode()
    assert "style=" not in html
    assert "<style" not in html
    assert all(" src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert re.search(r"\son[a-z]+=", html) is None
    assert "unsafe-inline" not in response["Content-Security-Policy"]
