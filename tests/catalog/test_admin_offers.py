"""The admin refuses offers that break SPEC §1 (shape by type, validity, money precision,
multi-user rules, shared codes, sellable parts) with the message on the field concerned,
and saves nothing."""

import pytest

from catalog.models import Offer
from tests.catalog.admin_forms import admin_url, form_errors, open_form, row_counts, split_datetime
from tests.factories import CorporateOfferFactory, OfferFactory, PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db


def offer_form(client, **fields) -> dict:
    """A complete monthly simple subscription of a new product, changed by `fields`."""
    return open_form(client, "offer") | {
        "code": "digital-monthly",
        "name": "Digital monthly",
        "kind": "simple_subscription",
        "product": str(ProductFactory().pk),
        "price_amount": "9.90",
        "currency": "EUR",
        "billing_interval_count": "1",
        "billing_interval_unit": "month",
        **split_datetime("valid_from", "2026-01-01 00:00"),
        **fields,
    }


def post_offer(client, data):
    before = row_counts(Offer)
    response = client.post(admin_url("offer"), data)
    return response, before


def test_admin_creates_a_multi_user_offer(staff_client):
    data = offer_form(staff_client, user_count="4", invitation_url="https://news.example/join")

    response = staff_client.post(admin_url("offer"), data)

    assert response.status_code == 302
    offer = Offer.objects.get(code="digital-monthly")
    assert (offer.user_count, offer.invitation_url) == (4, "https://news.example/join")


def test_admin_refuses_an_offer_whose_validity_ends_before_it_starts(staff_client):
    data = offer_form(staff_client, **split_datetime("valid_until", "2025-12-31 23:59"))

    response, before = post_offer(staff_client, data)

    assert form_errors(response) == {"valid_until": ["Valid until must be after valid from."]}
    assert row_counts(Offer) == before


def test_admin_refuses_an_offer_code_that_is_already_taken(staff_client):
    OfferFactory(code="digital-monthly")

    response, before = post_offer(staff_client, offer_form(staff_client))

    assert form_errors(response) == {"code": ["Offer with this Code already exists."]}
    assert row_counts(Offer) == before


def test_admin_refuses_an_offer_code_that_a_corporate_offer_uses(staff_client):
    CorporateOfferFactory(code="digital-monthly")

    response, before = post_offer(staff_client, offer_form(staff_client))

    assert form_errors(response) == {
        "code": ["A corporate offer with this code exists; offer codes are shared."]
    }
    assert row_counts(Offer) == before


def test_admin_refuses_a_price_with_more_decimals_than_the_currency(staff_client):
    response, before = post_offer(staff_client, offer_form(staff_client, price_amount="1.005"))

    assert form_errors(response) == {
        "price_amount": ["Ensure that there are no more than 2 decimal places."]
    }
    assert row_counts(Offer) == before


def test_admin_refuses_a_complex_subscription_without_a_plan(staff_client):
    data = offer_form(staff_client, kind="complex_subscription", product="")

    response, before = post_offer(staff_client, data)

    assert form_errors(response) == {"plan": ["A complex time-based subscription sells a plan."]}
    assert row_counts(Offer) == before


def test_admin_refuses_a_complex_subscription_that_also_names_a_product(staff_client):
    data = offer_form(staff_client, kind="complex_subscription", plan=str(PlanFactory().pk))

    response, before = post_offer(staff_client, data)

    assert form_errors(response) == {
        "product": ["A complex subscription sells a plan, not a product."]
    }
    assert row_counts(Offer) == before


def test_admin_refuses_a_single_product_with_a_billing_interval(staff_client):
    response, before = post_offer(staff_client, offer_form(staff_client, kind="single_product"))

    assert form_errors(response) == {
        "billing_interval_count": [
            "A single product is a one-time purchase; leave the interval empty."
        ]
    }
    assert row_counts(Offer) == before


def test_admin_refuses_a_simple_subscription_without_a_billing_interval(staff_client):
    data = offer_form(staff_client, billing_interval_count="", billing_interval_unit="")

    response, before = post_offer(staff_client, data)

    assert form_errors(response) == {
        "billing_interval_count": ["A subscription needs a billing interval."],
        "billing_interval_unit": ["Choose the billing interval's unit."],
    }
    assert row_counts(Offer) == before


def test_admin_refuses_a_simple_subscription_without_a_product(staff_client):
    response, before = post_offer(staff_client, offer_form(staff_client, product=""))

    assert form_errors(response) == {"product": ["Choose the product this offer sells."]}
    assert row_counts(Offer) == before


def test_admin_refuses_an_invitation_url_on_a_single_user_offer(staff_client):
    data = offer_form(staff_client, user_count="0", invitation_url="https://news.example/join")

    response, before = post_offer(staff_client, data)

    assert form_errors(response) == {
        "invitation_url": ["Only multi-user offers (user count above 0) have an invitation URL."]
    }
    assert row_counts(Offer) == before


def test_admin_creates_offers_as_drafts_whatever_status_is_posted(staff_client):
    data = offer_form(staff_client, status="active")

    response, _ = post_offer(staff_client, data)

    assert response.status_code == 302
    assert Offer.objects.latest("pk").status == "draft"


def test_admin_activate_button_refuses_an_offer_whose_product_is_archived(staff_client):
    paper = ProductFactory(archived=True, code="paper", name="Paper")
    offer = OfferFactory(draft=True, product=paper)

    response = staff_client.post(admin_url("offer", "status", offer.pk, "active"), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        f"{offer.code}: Paper (paper) is archived; activate it first."
    ]
    offer.refresh_from_db()
    assert offer.status == "draft"


def test_admin_activate_button_activates_a_complete_offer_and_get_is_refused(staff_client):
    offer = OfferFactory(draft=True)
    url = admin_url("offer", "status", offer.pk, "active")

    assert staff_client.get(url).status_code == 405
    response = staff_client.post(url)

    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == "active"


# --- the user count of a saved offer ---------------------------------------------------


def test_admin_refuses_lowering_the_user_count_of_a_saved_offer(staff_client):
    offer = OfferFactory(multi_user=True, user_count=9)
    data = open_form(staff_client, "offer", offer) | {"user_count": "4"}

    response = staff_client.post(admin_url("offer", "change", offer.pk), data)

    assert form_errors(response) == {
        "user_count": [
            "The user count can be raised but never lowered (it was 9): customers may have "
            "bought it. Create a new offer instead."
        ]
    }
    offer.refresh_from_db()
    assert offer.user_count == 9


def test_admin_refuses_making_a_multi_user_draft_single_user_again(staff_client):
    offer = OfferFactory(draft=True, user_count=1)
    data = open_form(staff_client, "offer", offer) | {"user_count": "0"}

    response = staff_client.post(admin_url("offer", "change", offer.pk), data)

    assert form_errors(response) == {
        "user_count": [
            "The user count can be raised but never lowered (it was 1): customers may have "
            "bought it. Create a new offer instead."
        ]
    }
    offer.refresh_from_db()
    assert offer.user_count == 1


def test_admin_raises_the_user_count_of_a_saved_offer(staff_client):
    offer = OfferFactory(multi_user=True, user_count=4)
    data = open_form(staff_client, "offer", offer) | {"user_count": "9"}

    response = staff_client.post(admin_url("offer", "change", offer.pk), data)

    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.user_count == 9


def test_admin_keeps_code_type_and_currency_of_an_active_offer(staff_client):
    offer = OfferFactory(code="digital", currency="EUR")
    data = open_form(staff_client, "offer", offer) | {
        "code": "renamed",
        "kind": "single_product",
        "currency": "USD",
        "name": "Digital, new name",
    }

    response = staff_client.post(admin_url("offer", "change", offer.pk), data)

    assert response.status_code == 302
    offer.refresh_from_db()
    assert (offer.code, offer.kind, offer.currency, offer.name) == (
        "digital",
        "simple_subscription",
        "EUR",
        "Digital, new name",
    )
