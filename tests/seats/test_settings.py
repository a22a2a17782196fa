"""User settings of a seat account: service and the main user's page."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from seats.services.settings import seat_account_update_settings
from tests.seats.factories import SeatAccountFactory, UserFactory
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _main_user(account):
    return account.subscription.customer.main_user


def test_update_settings_saves_validity_and_cancel_permission():
    account = SeatAccountFactory()

    seat_account_update_settings(
        account=account, invitation_validity_days=30, users_may_cancel=True, actor=None
    )

    account.refresh_from_db()
    assert (account.invitation_validity_days, account.users_may_cancel) == (30, True)


@pytest.mark.parametrize("days", [0, -1, 366, 1000])
def test_update_settings_refuses_validity_out_of_range(days):
    account = SeatAccountFactory()

    with pytest.raises(ValidationError) as error:
        seat_account_update_settings(
            account=account, invitation_validity_days=days, users_may_cancel=True, actor=None
        )

    assert "invitation_validity_days" in error.value.message_dict
    account.refresh_from_db()
    assert (account.invitation_validity_days, account.users_may_cancel) == (14, False)


@pytest.mark.parametrize("days", [1, 365])
def test_update_settings_accepts_the_bounds(days):
    account = SeatAccountFactory()

    seat_account_update_settings(
        account=account, invitation_validity_days=days, users_may_cancel=False, actor=None
    )

    account.refresh_from_db()
    assert account.invitation_validity_days == days


def test_settings_page_saves_for_the_main_user(client):
    account = SeatAccountFactory()
    client.force_login(_main_user(account))
    url = reverse("seats:settings", args=[account.public_id])

    assert client.get(url).status_code == 200
    response = client.post(url, {"invitation_validity_days": "7", "users_may_cancel": "on"})

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.invitation_validity_days, account.users_may_cancel) == (7, True)


def test_settings_page_shows_an_error_for_a_bad_validity(client):
    account = SeatAccountFactory()
    client.force_login(_main_user(account))

    response = client.post(
        reverse("seats:settings", args=[account.public_id]), {"invitation_validity_days": "400"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["invitation_validity_days"]
    account.refresh_from_db()
    assert account.invitation_validity_days == 14


def test_settings_page_is_404_for_others_and_login_for_anonymous(client):
    account = SeatAccountFactory()
    url = reverse("seats:settings", args=[account.public_id])
    other_main = UserFactory(customer=CustomerFactory())
    other_main.customer.main_user = other_main
    other_main.customer.save()
    member = UserFactory(customer=account.subscription.customer)  # not the main user

    assert client.get(url).status_code == 302
    for user in (other_main, member, UserFactory(is_staff=True)):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"invitation_validity_days": "3"}).status_code == 404
    account.refresh_from_db()
    assert account.invitation_validity_days == 14
