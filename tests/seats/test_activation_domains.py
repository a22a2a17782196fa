"""E-mail domains and IP ranges of a seat account: services and the main user's pages."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from seats.models import EmailDomain, IPRange
from seats.services.activation import domain_add, domain_remove, ip_range_add, ip_range_remove
from tests.seats.factories import SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Example.COM", "example.com"),
        ("@example.com", "example.com"),
        ("  mail.example.co.uk. ", "mail.example.co.uk"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_domain_add_normalises(value, stored):
    account = SeatAccountFactory()

    domain = domain_add(account=account, domain=value, actor=None)

    assert domain.domain == stored


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("example", "valid domain"),
        ("", "valid domain"),
        ("exa mple.com", "valid domain"),
        ("-bad.com", "valid domain"),
        ("*.example.com", "Wildcards"),
        ("192.168.1.1", "IP address"),
        ("[::1]", "IP address"),
        ("1.2.3.4.5", "valid domain"),
        ("gmail.com", "public mail provider"),
        ("GMX.de", "public mail provider"),
        ("@outlook.com", "public mail provider"),
        ("t-online.de", "public mail provider"),
    ],
)
def test_domain_add_refuses_bad_domains_and_creates_nothing(value, reason):
    account = SeatAccountFactory()

    with pytest.raises(ValidationError) as error:
        domain_add(account=account, domain=value, actor=None)

    assert reason in error.value.messages[0]
    assert EmailDomain.objects.count() == 0


def test_domain_add_refuses_a_duplicate_clearly():
    account = SeatAccountFactory()
    domain_add(account=account, domain="example.com", actor=None)

    with pytest.raises(ValidationError) as error:
        domain_add(account=account, domain="@EXAMPLE.com", actor=None)

    assert error.value.messages == ["example.com is already listed."]
    assert EmailDomain.objects.count() == 1


def test_the_same_domain_may_be_listed_on_two_accounts():
    domain_add(account=SeatAccountFactory(), domain="example.com", actor=None)
    domain_add(account=SeatAccountFactory(), domain="example.com", actor=None)

    assert EmailDomain.objects.count() == 2


def test_domain_remove_only_removes_from_its_own_account():
    account, other = SeatAccountFactory(), SeatAccountFactory()
    domain = domain_add(account=account, domain="example.com", actor=None)

    domain_remove(account=other, domain_id=domain.pk, actor=None)
    assert EmailDomain.objects.count() == 1
    domain_remove(account=account, domain_id=domain.pk, actor=None)
    assert EmailDomain.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("203.0.113.7/24", "203.0.113.0/24"),
        ("10.1.0.0/16", "10.1.0.0/16"),
        ("198.51.100.9", "198.51.100.9/32"),
        ("2001:DB8:0:0::/48", "2001:db8::/48"),
        ("2001:db8::1", "2001:db8::1/128"),
    ],
)
def test_ip_range_add_normalises_v4_and_v6(value, stored):
    ip_range = ip_range_add(account=SeatAccountFactory(), cidr=value, actor=None)

    assert ip_range.cidr == stored


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not an ip", "CIDR"),
        ("300.1.1.1/24", "CIDR"),
        ("10.0.0.0/33", "CIDR"),
        ("", "CIDR"),
        ("10.0.0.0/8", "too wide"),
        ("0.0.0.0/0", "too wide"),
        ("10.0.0.0/15", "too wide"),
        ("2001:db8::/31", "too wide"),
        ("::/0", "too wide"),
    ],
)
def test_ip_range_add_refuses_bad_and_too_wide_ranges(value, reason):
    with pytest.raises(ValidationError) as error:
        ip_range_add(account=SeatAccountFactory(), cidr=value, actor=None)

    assert reason in error.value.messages[0]
    assert IPRange.objects.count() == 0


def test_ip_range_add_refuses_a_duplicate_and_remove_stays_in_its_account():
    account, other = SeatAccountFactory(), SeatAccountFactory()
    ip_range = ip_range_add(account=account, cidr="203.0.113.0/24", actor=None)

    with pytest.raises(ValidationError) as error:
        ip_range_add(account=account, cidr="203.0.113.99/24", actor=None)
    assert error.value.messages == ["203.0.113.0/24 is already listed."]

    ip_range_remove(account=other, ip_range_id=ip_range.pk, actor=None)
    assert IPRange.objects.count() == 1
    ip_range_remove(account=account, ip_range_id=ip_range.pk, actor=None)
    assert IPRange.objects.count() == 0


def test_domains_page_lists_adds_refuses_and_removes(client):
    account = SeatAccountFactory()
    client.force_login(account.subscription.customer.main_user)
    url = reverse("seats:domains", args=[account.public_id])

    assert client.post(url, {"add": "1", "domain": "Example.com"}).status_code == 302
    response = client.post(url, {"add": "1", "domain": "gmail.com"})
    assert response.status_code == 200
    assert "public mail provider" in str(response.context["form"].errors)
    response = client.get(url)
    assert response.status_code == 200
    assert b"example.com" in response.content
    domain = EmailDomain.objects.get()
    assert client.post(url, {"remove": str(domain.pk)}).status_code == 302
    assert EmailDomain.objects.count() == 0


def test_ip_ranges_page_adds_and_refuses_too_wide(client):
    account = SeatAccountFactory()
    client.force_login(account.subscription.customer.main_user)
    url = reverse("seats:ip_ranges", args=[account.public_id])

    assert client.post(url, {"add": "1", "cidr": "203.0.113.0/24"}).status_code == 302
    response = client.post(url, {"add": "1", "cidr": "10.0.0.0/8"})
    assert "too wide" in str(response.context["form"].errors)
    assert list(IPRange.objects.values_list("cidr", flat=True)) == ["203.0.113.0/24"]


@pytest.mark.parametrize("name", ["seats:domains", "seats:ip_ranges"])
def test_activation_pages_are_404_for_other_users_and_redirect_anonymous(client, name):
    account = SeatAccountFactory()
    other = SeatAccountFactory()
    url = reverse(name, args=[account.public_id])

    assert client.get(url).status_code == 302
    for user in (other.subscription.customer.main_user, UserFactory(), UserFactory(is_staff=True)):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert (
            client.post(url, {"add": "1", "domain": "a.com", "cidr": "1.2.3.0/24"}).status_code
            == 404
        )
    assert EmailDomain.objects.count() == IPRange.objects.count() == 0
