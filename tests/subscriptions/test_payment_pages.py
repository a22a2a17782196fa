"""Portal pages for payment methods (as owner, other customer, anonymous) and the admin."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from notifications.models import Event
from subscriptions.gateways import ChargeResult, GatewayMethod
from subscriptions.models import PaymentMethod
from subscriptions.services.payments import payment_method_add
from tests.factories import OfferFactory, PlanFactory
from tests.subscriptions.test_payment_methods import (
    CARD_NUMBER,
    NEXT_YEAR,
    card,
    make_customer,
    make_subscription,
    sepa,
)

pytestmark = pytest.mark.django_db

LIST = reverse("subscriptions:payment_method_list")
ADD = reverse("subscriptions:payment_method_add")


@pytest.fixture
def anna(django_user_model):
    customer = make_customer("Anna Schmidt")
    customer.main_user = django_user_model.objects.create_user(
        email="anna@example.com", password="pw-anna-1", customer=customer
    )
    customer.save(update_fields=["main_user"])
    return customer


@pytest.fixture
def bert(django_user_model):
    customer = make_customer("Bert Bauer")
    customer.main_user = django_user_model.objects.create_user(
        email="bert@example.com", password="pw-bert-1", customer=customer
    )
    customer.save(update_fields=["main_user"])
    return customer


def login(client, customer):
    client.force_login(customer.users.get())
    return client


def change_url(subscription) -> str:
    return reverse("subscriptions:subscription_payment_method", args=[subscription.public_id])


def assert_nothing_inline(html: str) -> None:
    assert "style=" not in html
    assert "<style" not in html
    assert all(" src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))


# The list


def test_list_shows_the_customers_own_methods_only(client, anna, bert):
    payment_method_add(customer=anna, kind="card", details=card())
    payment_method_add(customer=anna, kind="invoice")
    payment_method_add(customer=bert, kind="sepa_debit", details=sepa())

    response = login(client, anna).get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Visa •••• 4242" in html
    assert f"08/{NEXT_YEAR}" in html
    assert "Invoice / bank transfer" in html
    assert "SEPA DE89" not in html
    assert '<link rel="stylesheet" href="/static/css/payments.css">' in html
    assert_nothing_inline(html)


def test_list_page_needs_a_login(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"] == f"/portal/login/?next={LIST}"


def test_list_page_is_404_for_a_user_without_a_customer_account(customer_client):
    assert customer_client.get(LIST).status_code == 404


def test_list_page_makes_a_fixed_number_of_queries(client, anna, django_assert_num_queries):
    for _ in range(3):
        method = payment_method_add(customer=anna, kind="card", details=card())
        make_subscription(anna, payment_method=method)
    login(client, anna)

    # session, user, customer, methods, their running subscriptions with offers
    with django_assert_num_queries(5):
        response = client.get(LIST)

    assert response.content.decode().count("Visa •••• 4242") == 3


def test_owner_removes_a_method_from_the_list(client, anna):
    method = payment_method_add(customer=anna, kind="card", details=card())

    response = login(client, anna).post(LIST, {"remove": str(method.public_id)}, follow=True)

    method.refresh_from_db()
    assert method.status == "removed"
    assert "Visa •••• 4242 was removed." in response.content.decode()


def test_a_method_in_use_is_not_removed_and_the_page_says_why(client, anna):
    method = payment_method_add(customer=anna, kind="card", details=card())
    subscription = make_subscription(anna, payment_method=method)

    response = login(client, anna).post(LIST, {"remove": str(method.public_id)}, follow=True)

    method.refresh_from_db()
    assert method.status == "active"
    assert f"pays for {subscription.offer.name}" in response.content.decode()


@pytest.mark.parametrize("value", ["not-a-uuid", ""])
def test_removing_with_a_bad_id_is_404(client, anna, value):
    assert login(client, anna).post(LIST, {"remove": value}).status_code == 404


def test_another_customer_cannot_remove_a_method(client, anna, bert):
    method = payment_method_add(customer=anna, kind="card", details=card())

    response = login(client, bert).post(LIST, {"remove": str(method.public_id)})

    assert response.status_code == 404
    method.refresh_from_db()
    assert method.status == "active"


# Adding


def test_add_page_shows_the_sandbox_test_numbers(client, anna):
    html = login(client, anna).get(ADD).content.decode()

    assert "4242 4242 4242 4242" in html
    assert "4000 0000 0000 0119" in html
    assert_nothing_inline(html)


class ElsewhereGateway:
    """A stand-in for a real gateway: the add page shows no sandbox numbers for it."""

    name = "elsewhere"

    def create_payment_method(self, *, kind, details):
        return GatewayMethod(token="pm_elsewhere_1", label="Visa •••• 1111")

    def charge(self, *, token, amount, currency, idempotency_key, description):
        return ChargeResult("succeeded", "ch_1")

    def detach(self, token):
        pass


@override_settings(KONTOR_PAYMENT_GATEWAY="tests.subscriptions.test_payment_pages.ElsewhereGateway")
def test_add_page_hides_the_test_numbers_for_a_real_gateway(client, anna):
    html = login(client, anna).get(ADD).content.decode()

    assert "4242 4242 4242 4242" not in html
    assert "Card number" in html


def test_add_page_needs_a_login(client):
    assert client.get(ADD)["Location"] == f"/portal/login/?next={ADD}"


def test_adding_a_card_stores_a_token_and_goes_to_the_list(client, anna):
    data = {"number": "4242 4242 4242 4242", "exp_month": "8", "exp_year": NEXT_YEAR, "cvc": "123"}

    response = login(client, anna).post(ADD, data)

    assert response.status_code == 302
    assert response["Location"] == LIST
    method = PaymentMethod.objects.get(customer=anna)
    assert (method.kind, method.label) == ("card", "Visa •••• 4242")
    assert all(CARD_NUMBER not in str(v) for v in PaymentMethod.objects.values().get().values())


def test_adding_sepa_needs_the_mandate_accepted(client, anna):
    login(client, anna)
    data = {"account_holder": "Anna Schmidt", "iban": "DE89 3704 0044 0532 0130 00"}

    refused = client.post(f"{ADD}?kind=sepa_debit", data)
    accepted = client.post(f"{ADD}?kind=sepa_debit", data | {"mandate": "on"})

    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    assert accepted.status_code == 302
    assert PaymentMethod.objects.get(customer=anna).label == "SEPA DE89 •••• 3000"


def test_adding_invoice_payment_returns_to_a_safe_next_url(client, anna):
    checkout = "/portal/checkout/digital/?step=payment"

    response = login(client, anna).post(f"{ADD}?kind=invoice&next={checkout.replace('&', '%26')}")

    assert response["Location"] == checkout
    assert PaymentMethod.objects.get(customer=anna).kind == "invoice"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x"])
def test_an_unsafe_next_url_is_ignored(client, anna, next_url):
    response = login(client, anna).post(f"{ADD}?kind=invoice&next={next_url}")

    assert response["Location"] == LIST


def test_a_refused_card_shows_the_gateways_message_at_the_field_and_stores_nothing(client, anna):
    data = {"number": "4242 4242 4242 4241", "exp_month": "8", "exp_year": NEXT_YEAR, "cvc": "123"}

    response = login(client, anna).post(ADD, data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "This card number is not valid." in html
    assert "field-invalid" in html
    assert PaymentMethod.objects.count() == 0
    assert_nothing_inline(html)


def test_the_add_page_is_404_without_a_customer_account(customer_client):
    assert customer_client.get(ADD).status_code == 404


# Changing a subscription's method


@pytest.fixture
def subscription(anna):
    offer = OfferFactory(complex=True, plan=PlanFactory(payment_methods=["card", "invoice"]))
    current = payment_method_add(customer=anna, kind="card", details=card())
    return make_subscription(anna, offer=offer, payment_method=current)


def test_change_page_offers_the_methods_the_plan_supports(client, anna, subscription):
    payment_method_add(customer=anna, kind="sepa_debit", details=sepa())
    payment_method_add(customer=anna, kind="invoice")

    response = login(client, anna).get(change_url(subscription))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('name="payment_method"') == 2
    assert "Invoice / bank transfer" in html
    assert "SEPA DE89" not in html
    assert f'value="{subscription.payment_method.public_id}"' in html
    assert_nothing_inline(html)


def test_owner_changes_the_method_and_the_event_is_emitted(client, anna, subscription):
    invoice = payment_method_add(customer=anna, kind="invoice")

    response = login(client, anna).post(
        change_url(subscription), {"payment_method": str(invoice.public_id)}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "subscriptions:subscription_detail", args=[subscription.public_id]
    )
    subscription.refresh_from_db()
    assert subscription.payment_method == invoice
    assert Event.objects.get().payload["kind"] == "invoice"


def test_another_customers_method_cannot_be_chosen(client, anna, bert, subscription):
    strangers = payment_method_add(customer=bert, kind="invoice")

    response = login(client, anna).post(
        change_url(subscription), {"payment_method": str(strangers.public_id)}
    )

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert Event.objects.count() == 0


def test_change_page_is_404_for_another_customer(client, bert, subscription):
    login(client, bert)
    bert_invoice = payment_method_add(customer=bert, kind="invoice")

    assert client.get(change_url(subscription)).status_code == 404
    assert (
        client.post(
            change_url(subscription), {"payment_method": str(bert_invoice.public_id)}
        ).status_code
        == 404
    )
    assert Event.objects.count() == 0


def test_change_page_needs_a_login(client, subscription):
    url = change_url(subscription)

    assert client.get(url)["Location"] == f"/portal/login/?next={url}"


def test_change_page_without_a_fitting_method_links_to_adding_one(client, anna):
    subscription = make_subscription(anna)  # card-only plan, no card on file

    html = login(client, anna).get(change_url(subscription)).content.decode()

    assert "No payment method fits this subscription" in html
    assert f'href="{ADD}?next=' in html


# The admin


def test_admin_lists_methods_read_only_and_removes_through_the_service(staff_client, anna):
    method = payment_method_add(customer=anna, kind="card", details=card())
    url = reverse("admin:subscriptions_paymentmethod_changelist")

    listed = staff_client.get(url, {"q": "Anna"})
    add = staff_client.get(reverse("admin:subscriptions_paymentmethod_add"))
    detail = staff_client.get(reverse("admin:subscriptions_paymentmethod_change", args=[method.pk]))
    removed = staff_client.post(
        url, {"action": "remove_selected", "_selected_action": [method.pk]}, follow=True
    )

    assert listed.status_code == 200
    assert "Visa •••• 4242" in listed.content.decode()
    assert add.status_code == 403
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert "1 payment method removed." in removed.content.decode()
    method.refresh_from_db()
    assert method.status == "removed"


def test_admin_remove_action_reports_a_refusal(staff_client, anna):
    method = payment_method_add(customer=anna, kind="card", details=card())
    make_subscription(anna, payment_method=method)

    response = staff_client.post(
        reverse("admin:subscriptions_paymentmethod_changelist"),
        {"action": "remove_selected", "_selected_action": [method.pk]},
        follow=True,
    )

    assert "Choose another payment method there first." in response.content.decode()
    method.refresh_from_db()
    assert method.status == "active"
