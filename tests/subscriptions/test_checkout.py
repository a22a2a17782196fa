"""The hosted checkout page: as a customer (owner of the purchase), as a signed-in user
without an account yet, as a visitor (log in, or create an account), unknown offers."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import PaymentMethod as PaymentKind
from catalog.models import Status
from notifications.models import Event
from subscriptions.forms_checkout import RegisterForm
from subscriptions.models import Customer, PaymentMethod, Subscription, SubscriptionItem, User
from tests.coupons.factories import make_campaign
from tests.factories import BundleFactory, OfferFactory, PlanFactory, ProductFactory, TermFactory
from tests.subscriptions.test_purchase import make_card

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-and-unusual-pw-42"


@pytest.fixture
def offer():
    archive = ProductFactory(name="Archive")
    basic = BundleFactory(products=[ProductFactory(name="Paper")], optional_products=[archive])
    extra = BundleFactory(name="Podcasts add-on", products=[ProductFactory(name="Podcasts")])
    BundleFactory(name="Not compatible")
    plan = PlanFactory(
        bundles=[basic],
        compatible_bundles=[extra],
        compatible_bundles_only=True,
        payment_methods=[PaymentKind.CARD, PaymentKind.INVOICE],
    )
    return OfferFactory(
        code="digital-monthly",
        name="Digital, monthly",
        complex=True,
        plan=plan,
        term=TermFactory(with_penalty=True),
        price_amount=Decimal("9.99"),
    )


@pytest.fixture
def buyer(django_user_model):
    customer = Customer.objects.create(name="Anna Schmidt", email="anna@example.com")
    return django_user_model.objects.create_user(
        email="anna@example.com", password=PASSWORD, first_name="Anna", customer=customer
    )


def url(code: str = "digital-monthly") -> str:
    return reverse("subscriptions:checkout", args=[code])


def test_checkout_page_shows_offer_options_and_payment_methods(client, buyer, offer):
    card = make_card(buyer.customer)
    make_card(buyer.customer, kind=PaymentKind.SEPA_DIRECT_DEBIT)  # the plan refuses SEPA
    client.force_login(buyer)
    response = client.get(url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "Digital, monthly" in page
    assert "€9.99" in page
    assert "per month" in page
    assert "12 months" in page  # the minimum term
    assert "Possible with a fee of up to €50.00" in page
    assert "Archive" in page
    assert "Podcasts add-on" in page
    assert "Not compatible" not in page
    assert [c[1] for c in response.context["form"].fields["payment_method"].choices] == [
        card.label,
        "Invoice / bank transfer",
    ]
    assert reverse("subscriptions:payment_method_add") + "?next=/portal/checkout/" in page
    assert 'name="coupon_code"' in page


def test_checkout_page_in_german_formats_the_price(client, buyer, offer):
    client.force_login(buyer)
    response = client.get(url(), HTTP_ACCEPT_LANGUAGE="de")
    assert "9,99\xa0€" in response.content.decode()


def test_checkout_buys_and_redirects_to_the_subscription(client, buyer, offer):
    card = make_card(buyer.customer)
    client.force_login(buyer)
    archive = offer.plan.bundles.get().items.get(required=False).product
    addon = offer.plan.compatible_bundles.get()
    response = client.post(
        url(),
        {
            "optional_products": [archive.pk],
            "addon_bundles": [addon.pk],
            "payment_method": str(card.public_id),
            "coupon_code": "",
        },
    )
    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "subscriptions:subscription_detail", args=[subscription.public_id]
    )
    assert subscription.customer == buyer.customer
    assert subscription.payment_method == card
    assert sorted(subscription.items.values_list("source", flat=True)) == [
        "addon",
        "included",
        "optional",
    ]
    buyer.customer.refresh_from_db()
    assert buyer.customer.main_user == buyer


def test_checkout_refuses_an_unknown_coupon_code_on_its_field_and_writes_nothing(
    client, buyer, offer
):
    client.force_login(buyer)
    response = client.post(url(), {"payment_method": "invoice", "coupon_code": "WELCOME10"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"coupon_code": ["This code is not valid."]}
    assert (Subscription.objects.count(), SubscriptionItem.objects.count()) == (0, 0)
    assert (PaymentMethod.objects.count(), Event.objects.count()) == (0, 0)


def _campaign_for(offer, percent="20"):
    bundle = offer.plan.plan_bundles.get().bundle
    campaign = make_campaign(bundle=bundle, discount_percent=Decimal(percent), quantity=1)
    return campaign.codes.get().code


def test_apply_shows_the_discounted_price_and_buys_nothing(client, buyer, offer):
    code = _campaign_for(offer)
    client.force_login(buyer)

    response = client.post(url(), {"intent": "apply_coupon", "coupon_code": code.lower()})

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["quote"].discount == Decimal("2.00")
    assert '<del class="muted" aria-label="Price before discount">€9.99</del>' in html
    assert f"Code {code} applied: €2.00 off, you pay €7.99 instead of €9.99." in html
    assert "Buy now for €7.99" in html
    assert Subscription.objects.count() == 0


def test_apply_refuses_a_used_code_with_its_message(client, buyer, offer):
    code = _campaign_for(offer)
    client.force_login(buyer)
    client.post(url(), {"payment_method": "invoice", "coupon_code": code})
    assert Subscription.objects.count() == 1

    response = client.post(url(), {"intent": "apply_coupon", "coupon_code": code})

    assert response.context["form"].errors == {"coupon_code": ["This code has already been used."]}
    assert "quote" not in response.context
    assert Subscription.objects.count() == 1


def test_apply_without_a_code_asks_for_one(client, buyer, offer):
    client.force_login(buyer)

    response = client.post(url(), {"intent": "apply_coupon", "coupon_code": " "})

    assert response.context["form"].errors == {"coupon_code": ["Enter a code to apply."]}


def test_checkout_without_payment_method_shows_the_error_on_its_field(client, buyer, offer):
    client.force_login(buyer)
    response = client.post(url(), {})
    assert response.context["form"].errors == {"payment_method": ["Choose how you want to pay."]}
    assert not Subscription.objects.exists()


def test_checkout_refuses_another_customers_payment_method(client, buyer, offer):
    stranger = Customer.objects.create(name="Ben Berg")
    card = make_card(stranger)
    client.force_login(buyer)
    response = client.post(url(), {"payment_method": str(card.public_id)})
    assert "payment_method" in response.context["form"].errors  # not among the choices
    assert not Subscription.objects.exists()


def test_signed_in_user_without_account_gets_one_on_first_purchase(
    client, django_user_model, offer
):
    user = django_user_model.objects.create_user(
        email="rita@example.com", password=PASSWORD, first_name="Rita", last_name="Reader"
    )
    client.force_login(user)
    assert client.get(url()).status_code == 200
    response = client.post(url(), {"payment_method": "invoice"})
    assert response.status_code == 302
    user.refresh_from_db()
    customer = user.customer
    assert (customer.name, customer.email, customer.kind, customer.main_user) == (
        "Rita Reader",
        "rita@example.com",
        "person",
        user,
    )
    assert Subscription.objects.get().customer == customer


def test_refused_first_purchase_creates_no_account(client, django_user_model, offer):
    user = django_user_model.objects.create_user(email="rita@example.com", password=PASSWORD)
    client.force_login(user)
    client.post(url(), {"payment_method": "invoice", "coupon_code": "X"})
    user.refresh_from_db()
    assert user.customer is None
    assert not Customer.objects.exists()


def test_visitor_sees_the_offer_with_login_and_create_account(client, offer):
    response = client.get(url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "Digital, monthly" in page
    assert reverse("subscriptions:login") + "?next=/portal/checkout/digital-monthly/" in page
    assert 'name="intent" value="register"' in page


def test_visitor_purchase_post_redirects_to_login(client, offer):
    response = client.post(url(), {"payment_method": "invoice"})
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("subscriptions:login") + "?next=/portal/checkout/digital-monthly/"
    )
    assert not Subscription.objects.exists()


def test_visitor_creates_an_account_and_is_logged_in(client, offer):
    response = client.post(
        url(),
        {
            "intent": "register",
            "email": "New.Person@Example.com",
            "first_name": "New",
            "last_name": "Person",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url()
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password(PASSWORD)
    assert (user.customer.name, user.customer.main_user) == ("New Person", user)
    assert client.get(url()).context["user"] == user
    assert not Subscription.objects.exists()  # buying is the next step


def test_create_account_refuses_a_taken_email_and_a_weak_password(client, buyer, offer):
    response = client.post(
        url(),
        {
            "intent": "register",
            "email": "ANNA@example.com",
            "first_name": "Anna",
            "last_name": "Other",
            "password": "12345",
        },
    )
    errors = response.context["register_form"].errors
    assert errors["email"] == ["An account with this e-mail address exists already. Please log in."]
    assert (
        "This password is too short. It must contain at least 8 characters." in errors["password"]
    )
    assert User.objects.count() == 1


@pytest.mark.parametrize("code", ["no-such-offer", "draft-offer", "archived-offer"])
def test_unknown_or_unsellable_offer_is_404(client, buyer, offer, code):
    OfferFactory(code="draft-offer", draft=True)
    OfferFactory(code="archived-offer", status=Status.ARCHIVED)
    client.force_login(buyer)
    assert client.get(url(code)).status_code == 404
    client.logout()
    assert client.get(url(code)).status_code == 404


def test_free_offer_is_bought_without_payment_method(client, buyer):
    OfferFactory(code="free-group", price_amount=Decimal("0.00"))
    client.force_login(buyer)
    page = client.get(url("free-group")).content.decode()
    assert "no payment method is needed" in page
    assert client.post(url("free-group"), {}).status_code == 302
    assert Subscription.objects.get().payment_method is None


def test_staff_without_account_cannot_buy_in_the_portal(client, staff_user, offer):
    client.force_login(staff_user)
    assert client.post(url(), {"payment_method": "invoice"}).status_code == 200
    assert not Subscription.objects.exists()
    assert not Customer.objects.exists()


def test_add_payment_method_link_returns_to_the_checkout(client, buyer, offer):
    client.force_login(buyer)
    page = client.get(url()).content.decode()
    assert 'href="/portal/payment-methods/add/?next=/portal/checkout/digital-monthly/"' in page


def test_user_without_account_gets_one_before_adding_a_payment_method(
    client, django_user_model, offer
):
    user = django_user_model.objects.create_user(email="rita@example.com", password=PASSWORD)
    client.force_login(user)
    assert 'value="add_method"' in client.get(url()).content.decode()
    response = client.post(url(), {"intent": "add_method"})
    assert response["Location"] == (
        "/portal/payment-methods/add/?next=%2Fportal%2Fcheckout%2Fdigital-monthly%2F"
    )
    user.refresh_from_db()
    assert user.customer.main_user == user
    assert not Subscription.objects.exists()


def test_the_same_checkout_form_posted_twice_buys_once(client, buyer, offer):
    """A double click, or the page sent again: the form's purchase key makes it one."""
    client.force_login(buyer)
    page = client.get(url())
    key = str(page.context["form"]["purchase_key"].value())
    assert f'<input type="hidden" name="purchase_key" value="{key}"' in page.content.decode()
    data = {"payment_method": "invoice", "coupon_code": "", "purchase_key": key}

    first = client.post(url(), data)
    second = client.post(url(), data)

    subscription = Subscription.objects.get()
    assert subscription.purchase_key == uuid.UUID(key)
    detail = reverse("subscriptions:subscription_detail", args=[subscription.public_id])
    assert (first.status_code, first["Location"]) == (302, detail)
    assert (second.status_code, second["Location"]) == (302, detail)
    assert Event.objects.filter(type="subscription.created").count() == 1
    assert PaymentMethod.objects.count() == 1


def test_each_checkout_page_carries_a_new_purchase_key(client, buyer, offer):
    client.force_login(buyer)
    keys = {str(client.get(url()).context["form"]["purchase_key"].value()) for _ in range(2)}
    assert len(keys) == 2
    assert all(uuid.UUID(key) for key in keys)


@pytest.mark.parametrize("key", [None, "", "not-a-uuid"])
def test_a_form_without_a_valid_purchase_key_still_buys_each_time(client, buyer, offer, key):
    """An old page (before keys) or a mangled key is not refused; it is not deduplicated."""
    client.force_login(buyer)
    data = {"payment_method": "invoice"} | ({} if key is None else {"purchase_key": key})

    assert client.post(url(), data).status_code == 302
    assert client.post(url(), data).status_code == 302

    keys = list(Subscription.objects.values_list("purchase_key", flat=True))
    assert len(keys) == 2
    assert None not in keys
    assert keys[0] != keys[1]


def test_a_refused_order_keeps_its_purchase_key_for_the_corrected_one(client, buyer, offer):
    client.force_login(buyer)
    key = str(uuid.uuid4())
    refused = client.post(url(), {"coupon_code": "WELCOME10", "purchase_key": key})
    assert f'name="purchase_key" value="{key}"' in refused.content.decode()
    assert client.post(url(), {"payment_method": "invoice", "purchase_key": key}).status_code == 302
    assert str(Subscription.objects.get().purchase_key) == key


def test_create_account_with_an_email_taken_since_the_form_checked_it(
    client, buyer, offer, monkeypatch
):
    """Two sign-ups at once: both forms find the address free, one insert wins. The
    other gets the form back with a clear message instead of a server error."""
    monkeypatch.setattr(RegisterForm, "clean_email", lambda form: form.cleaned_data["email"])

    response = client.post(
        url(),
        {
            "intent": "register",
            "email": "anna@example.com",
            "first_name": "Anna",
            "last_name": "Other",
            "password": PASSWORD,
        },
    )

    assert response.status_code == 200
    assert response.context["register_form"].errors == {
        "email": ["An account with this e-mail already exists; log in instead."]
    }
    assert (User.objects.count(), Customer.objects.count()) == (1, 1)
    assert "_auth_user_id" not in client.session


def test_the_subscription_shows_the_price_with_the_coupon(client, buyer, offer):
    code = _campaign_for(offer)
    client.force_login(buyer)
    client.post(url(), {"payment_method": "invoice", "coupon_code": code})
    subscription = Subscription.objects.get()

    html = client.get(
        reverse("subscriptions:subscription_detail", args=[subscription.public_id])
    ).content.decode()

    assert f"€7.99 with code {code} (instead of €9.99) / month" in html
