"""Self-activation by e-mail domain: the landing page, the confirmation link and its
refusals (unlisted domain, second use, expired, full)."""

import re

import pytest
import time_machine
from django.core import mail, signing
from django.urls import reverse

from seats.exceptions import SeatsFull
from seats.models import EmailDomain, LogEntry, UserSubscription
from seats.services.activation import (
    CONFIRM_SALT,
    ActivationLinkInvalid,
    domain_registration_confirm,
)
from seats.services.seats import Via
from subscriptions.models import User
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

FORM = {
    "email": "Rita@Example.com",
    "first_name": "Rita",
    "last_name": "Berg",
    "password": "a-long-Secret-42",
    "language": "de",
}


@pytest.fixture
def account():
    account = SeatAccountFactory(maximum_users=1)
    EmailDomain.objects.create(seat_account=account, domain="example.com")
    return account


def _register(client, account, **changes):
    return client.post(reverse("join:domain_register", args=[account.public_id]), FORM | changes)


def _link_from_mail() -> str:
    return re.search(r"http://testserver(/join/domain/confirm/\S+/)", mail.outbox[-1].body)[1]


def test_landing_page_shows_the_offer(client, account):
    response = client.get(reverse("join:domain_register", args=[account.public_id]))

    assert response.status_code == 200
    assert account.subscription.offer.name.encode() in response.content


def test_landing_page_is_404_without_domains(client):
    account = SeatAccountFactory()

    assert client.get(reverse("join:domain_register", args=[account.public_id])).status_code == 404


def test_register_creates_the_user_and_mails_a_link_but_takes_no_seat(
    client, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _register(client, account)

    assert response.status_code == 200
    user = User.objects.get(email="rita@example.com")
    assert (user.first_name, user.language, user.customer_id) == ("Rita", "de", None)
    assert user.check_password(FORM["password"])
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["rita@example.com"]
    assert UserSubscription.objects.count() == 0


def test_register_refuses_an_unlisted_domain_and_creates_nothing(
    client, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _register(client, account, email="rita@other.example")

    assert response.status_code == 200
    assert "cannot activate" in str(response.context["form"].errors["email"])
    assert not User.objects.filter(email="rita@other.example").exists()
    assert mail.outbox == []


def test_register_with_an_existing_address_keeps_its_password(
    client, account, django_capture_on_commit_callbacks
):
    existing = UserFactory(email="rita@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        _register(client, account)

    existing.refresh_from_db()
    assert existing.check_password("pw-user-1")
    assert User.objects.filter(email="rita@example.com").count() == 1
    assert len(mail.outbox) == 1


def test_confirming_starts_the_user_subscription_once(
    client, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _register(client, account)
    link = _link_from_mail()

    assert client.get(link).status_code == 200  # a button, no seat yet
    assert UserSubscription.objects.count() == 0
    response = client.post(link)

    assert response.status_code == 200
    user = User.objects.get(email="rita@example.com")
    assert UserSubscription.objects.filter(user=user).count() == 2  # two products
    assert set(LogEntry.objects.values_list("via", flat=True)) == {Via.DOMAIN}

    second = client.post(link)
    assert second.status_code == 400
    assert second.context["reason"] == "used"
    assert UserSubscription.objects.count() == 2


def test_confirming_on_a_full_account_shows_no_seats_free(
    client, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _register(client, account)
    link = _link_from_mail()
    with django_capture_on_commit_callbacks(execute=True):
        _register(client, account, email="otto@example.com", first_name="Otto")
    client.post(_link_from_mail())  # Otto takes the only seat

    response = client.post(link)

    assert response.status_code == 409
    assert response.context["reason"] == "full"
    assert b"No seats are free" in response.content
    assert not UserSubscription.objects.filter(user__email="rita@example.com").exists()


def test_confirming_an_expired_link_is_refused(account):
    user = UserFactory(email="rita@example.com")
    with time_machine.travel(NOW, tick=False):
        token = signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(
            {"a": str(account.public_id), "u": user.pk}
        )
    later = NOW.timestamp() + 2 * 24 * 3600 + 1
    with time_machine.travel(later, tick=False), pytest.raises(ActivationLinkInvalid) as error:
        domain_registration_confirm(token=token)

    assert error.value.reason == "expired"
    assert UserSubscription.objects.count() == 0


def test_confirming_a_forged_link_is_refused(client, account):
    response = client.post(reverse("join:domain_confirm", args=["forged:token"]))

    assert response.status_code == 400
    assert response.context["reason"] == "invalid"
    assert UserSubscription.objects.count() == 0


def test_confirming_after_the_domain_was_removed_is_refused(account):
    user = UserFactory(email="rita@example.com")
    token = signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(
        {"a": str(account.public_id), "u": user.pk}
    )
    EmailDomain.objects.all().delete()

    with pytest.raises(ActivationLinkInvalid) as error:
        domain_registration_confirm(token=token)

    assert error.value.reason == "domain"
    assert UserSubscription.objects.count() == 0


def test_confirm_service_raises_seats_full(account):
    UserSubscription.objects.create(
        seat_account=account,
        user=UserFactory(),
        product=account.subscription.offer.product,
        started_at=NOW,
    )
    user = UserFactory(email="rita@example.com")
    token = signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(
        {"a": str(account.public_id), "u": user.pk}
    )

    with pytest.raises(SeatsFull):
        domain_registration_confirm(token=token)

    assert UserSubscription.objects.filter(user=user).count() == 0
