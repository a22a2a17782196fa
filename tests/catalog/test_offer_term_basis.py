"""A one-time purchase (single product) has no billing interval, so its term cannot count
billing cycles: the offer refuses such a term on the `term` field."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import OfferFactory, TermFactory

pytestmark = pytest.mark.django_db

MESSAGE = "A one-time purchase has no billing cycles; use a calendar term."


def test_a_single_product_offer_refuses_a_billing_cycles_term():
    offer = OfferFactory(single_product=True, term=TermFactory(billing_cycles=True))
    with pytest.raises(ValidationError) as error:
        offer.full_clean()
    assert error.value.message_dict["term"] == [MESSAGE]


def test_a_single_product_offer_takes_a_calendar_term():
    OfferFactory(single_product=True, term=TermFactory()).full_clean()


def test_a_subscription_offer_takes_a_billing_cycles_term():
    OfferFactory(term=TermFactory(billing_cycles=True)).full_clean()
