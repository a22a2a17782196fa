"""Two staff members save the same offer at once: the user count never falls."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from catalog.models import Offer
from tests.factories import OfferFactory


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_edits_cannot_lower_the_user_count_between_them():
    offer = OfferFactory(multi_user=True, user_count=4)
    both_loaded = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def edit(new_count: int, delay_clean: bool) -> None:
        try:
            with transaction.atomic():
                copy = Offer.objects.get(pk=offer.pk)  # both load 4, as two admin forms do
                both_loaded.wait(timeout=5)
                if delay_clean:
                    both_loaded.wait(timeout=5)  # let the other one lock and save first
                copy.user_count = new_count
                copy.full_clean()
                copy.save()
                if not delay_clean:
                    both_loaded.wait(timeout=5)
            outcomes[new_count] = "saved"
        except ValidationError as error:
            outcomes[new_count] = " ".join(error.messages)
        finally:
            connection.close()

    raise_to_6 = threading.Thread(target=edit, args=(6, False))
    lower_to_5 = threading.Thread(target=edit, args=(5, True))
    raise_to_6.start()
    lower_to_5.start()
    raise_to_6.join(10)
    lower_to_5.join(10)

    assert outcomes[6] == "saved"
    assert "never lowered (it was 6)" in outcomes[5]
    assert Offer.objects.get(pk=offer.pk).user_count == 6
