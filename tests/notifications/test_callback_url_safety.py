"""Callback URLs: https only, no credentials, public addresses only, checked when an
endpoint is saved and again before every attempt; the POST goes to the addresses that
were checked. DNS is faked at its one seam, `notifications.url_safety.getaddrinfo`."""

import ipaddress
import shutil
import socket
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from notifications import url_safety
from notifications.events import EventType
from notifications.models import CallbackDelivery, CallbackEndpoint
from notifications.services import emit
from notifications.services.callbacks import (
    callback_deliveries_create_for_event,
    callback_delivery_send,
    callback_endpoint_create,
)
from tests.notifications.receiver import Receiver

pytestmark = pytest.mark.django_db

CREATED = EventType.USER_SUBSCRIPTION_CREATED
PUBLIC = "93.184.215.14"


class FakeDNS:
    """Answers for host names; IP literals answer themselves, like the real resolver."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        self.asked.append(host)
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if host not in self.answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            addresses = self.answers[host]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDNS()
    monkeypatch.setattr(url_safety, "getaddrinfo", fake)
    return fake


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _url_errors(url: str, *, active: bool = True) -> list[str]:
    endpoint = CallbackEndpoint(
        name="CRM", url=url, event_types=[CREATED], secret="whsec_x", active=active
    )
    with pytest.raises(ValidationError) as refused:
        endpoint.full_clean()
    return refused.value.message_dict["url"]


# --- at save ----------------------------------------------------------------------------


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://10.0.0.1/hooks", "10.0.0.1 is a private address"),
        ("https://192.168.1.5/hooks", "192.168.1.5 is a private address"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("https://127.0.0.1:8443/hooks", "127.0.0.1 is a loopback address"),
        ("https://[::1]/hooks", "::1 is a loopback address"),
        ("https://[::ffff:10.0.0.1]/hooks", "::ffff:10.0.0.1 is a private address"),
        ("https://[fd12:3456::1]/hooks", "fd12:3456::1 is a private address"),
        ("https://[fe80::1]/hooks", "fe80::1 is a link-local address"),
        ("https://0.0.0.0/hooks", "0.0.0.0 is an unspecified address"),
        ("https://224.0.0.1/hooks", "224.0.0.1 is a multicast address"),
        ("https://240.0.0.1/hooks", "240.0.0.1 is a reserved address"),
        ("https://100.64.0.1/hooks", "100.64.0.1 is not a public address"),
    ],
)
def test_an_endpoint_on_a_non_public_address_is_refused_with_a_clear_message(dns, url, message):
    assert _url_errors(url) == [f"{message}; callbacks go only to public addresses."]


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[])
def test_an_endpoint_whose_host_resolves_to_a_private_address_is_refused(dns):
    dns.answers["hooks.example.com"] = [PUBLIC, "10.0.0.5"]  # one bad answer is enough

    with pytest.raises(ValidationError) as refused:
        callback_endpoint_create(
            name="CRM", url="https://hooks.example.com/kontor", event_types=[CREATED]
        )

    assert refused.value.message_dict == {
        "url": [
            "hooks.example.com resolves to 10.0.0.5, a private address; "
            "callbacks go only to public addresses."
        ]
    }
    assert CallbackEndpoint.objects.count() == 0


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://hooks.example.com/kontor",
            "Callback URLs must use https: callbacks carry customer data.",
        ),
        (
            "https://crm:s3cret@hooks.example.com/kontor",
            "Remove the user name and password from the URL: receivers check the signature "
            "instead.",
        ),
        (
            "https://nowhere.example.com/kontor",
            "The host nowhere.example.com could not be resolved; check the URL.",
        ),
    ],
)
def test_plain_http_credentials_and_unknown_hosts_are_refused(dns, url, message):
    dns.answers["hooks.example.com"] = [PUBLIC]

    assert _url_errors(url) == [message]


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[])
def test_an_https_endpoint_on_a_public_address_is_accepted(dns):
    dns.answers["hooks.example.com"] = [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]

    endpoint = callback_endpoint_create(
        name="CRM", url="https://hooks.example.com/kontor", event_types=[CREATED]
    )

    assert endpoint.pk is not None


def test_allowlisted_hosts_may_use_http_and_local_addresses(dns):
    # The test settings allow 127.0.0.1 and localhost, as development does.
    dns.answers["localhost"] = ["127.0.0.1"]

    for url in ("http://127.0.0.1:9000/hooks", "http://localhost:9000/hooks"):
        callback_endpoint_create(name="Local", url=url, event_types=[CREATED])

    assert CallbackEndpoint.objects.count() == 2


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[])
def test_staff_can_switch_off_an_endpoint_whose_host_no_longer_resolves(dns):
    dns.answers["hooks.example.com"] = [PUBLIC]
    endpoint = callback_endpoint_create(
        name="CRM", url="https://hooks.example.com/kontor", event_types=[CREATED]
    )
    del dns.answers["hooks.example.com"]
    endpoint = CallbackEndpoint.objects.get(pk=endpoint.pk)

    endpoint.name = "CRM (broken)"
    with pytest.raises(ValidationError):
        endpoint.full_clean()  # saved active, the URL is checked again
    endpoint.active = False
    endpoint.full_clean()  # switched off with its URL unchanged: fine
    endpoint.url = "https://nowhere.example.com/kontor"
    with pytest.raises(ValidationError):
        endpoint.full_clean()  # a new URL is always checked


@pytest.mark.parametrize(
    ("event_types", "message"),
    [
        ([], "This field cannot be blank."),  # the admin form says it better
        (["user_subscription.created", "ping"], "Unknown event types: ping."),
        (["invoice.exploded"], "Unknown event types: invoice.exploded."),
    ],
)
def test_event_types_must_be_subscribable(dns, event_types, message):
    endpoint = CallbackEndpoint(
        name="CRM", url="http://127.0.0.1:9000/", event_types=event_types, secret="whsec_x"
    )

    with pytest.raises(ValidationError) as refused:
        endpoint.full_clean()

    assert refused.value.message_dict == {"event_types": [message]}


# --- at send ----------------------------------------------------------------------------


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[])
def test_a_host_that_resolves_to_a_private_address_at_send_time_is_not_sent_to(dns, receiver):
    dns.answers["hooks.example.com"] = [PUBLIC]
    callback_endpoint_create(
        name="CRM", url=f"https://hooks.example.com:{receiver.port}/", event_types=[CREATED]
    )
    [delivery_id] = callback_deliveries_create_for_event(event=emit(type=CREATED, payload={}))
    # The DNS answer changes after the endpoint was saved: now it points at our own machine.
    dns.answers["hooks.example.com"] = ["127.0.0.1"]

    assert callback_delivery_send(delivery_id=delivery_id) is True

    delivery = CallbackDelivery.objects.get()
    assert delivery.attempt_log.get().error == (
        "hooks.example.com resolves to 127.0.0.1, a loopback address; callbacks go only to "
        "public addresses. Nothing was sent."
    )
    assert (delivery.status, delivery.attempts) == (CallbackDelivery.Status.PENDING, 1)
    assert receiver.requests == []


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=["hooks.test"])
def test_the_post_goes_to_the_checked_address_without_resolving_the_host_again(
    dns, receiver, monkeypatch
):
    dns.answers["hooks.test"] = ["127.0.0.1"]
    real_getaddrinfo = socket.getaddrinfo

    def resolver_an_attacker_controls(host, *args, **kwargs):
        if host == "hooks.test":
            raise AssertionError("the HTTP client resolved the host itself")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver_an_attacker_controls)
    callback_endpoint_create(
        name="CRM", url=f"http://hooks.test:{receiver.port}/in?x=1", event_types=[CREATED]
    )
    [delivery_id] = callback_deliveries_create_for_event(event=emit(type=CREATED, payload={}))

    callback_delivery_send(delivery_id=delivery_id)

    assert [(r.path, r.headers["host"]) for r in receiver.requests] == [
        ("/in?x=1", f"hooks.test:{receiver.port}")
    ]
    assert CallbackDelivery.objects.get().status == CallbackDelivery.Status.SUCCEEDED


def test_the_next_address_is_tried_when_the_first_refuses_the_connection(dns, receiver):
    # localhost is ::1 first; a receiver listening on 127.0.0.1 only still gets its callback.
    dns.answers["localhost"] = ["::1", "127.0.0.1"]
    callback_endpoint_create(
        name="Local", url=f"http://localhost:{receiver.port}/", event_types=[CREATED]
    )
    [delivery_id] = callback_deliveries_create_for_event(event=emit(type=CREATED, payload={}))

    callback_delivery_send(delivery_id=delivery_id)

    assert len(receiver.requests) == 1
    assert CallbackDelivery.objects.get().status == CallbackDelivery.Status.SUCCEEDED


# --- https, pinned to the checked address -----------------------------------------------


def _certificate(directory, host: str) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / f"{host}.pem", directory / f"{host}.key"
    command = [
        *["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
        *["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={host}"],
        *["-addext", f"subjectAltName=DNS:{host}"],
    ]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    return str(cert), str(key)


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch, request):
    """An https receiver on 127.0.0.1 whose certificate names `request.param`, trusted
    through REQUESTS_CA_BUNDLE (as an operator would trust a private CA)."""
    cert, key = _certificate(tmp_path, request.param)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    with Receiver(tls=(cert, key)) as receiver:
        yield receiver


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=["hooks.test"])
@pytest.mark.parametrize("tls_receiver", ["hooks.test"], indirect=True)
def test_https_to_the_checked_address_names_and_verifies_the_host(dns, tls_receiver):
    dns.answers["hooks.test"] = ["127.0.0.1"]
    callback_endpoint_create(
        name="CRM", url=f"https://hooks.test:{tls_receiver.port}/in", event_types=[CREATED]
    )
    [delivery_id] = callback_deliveries_create_for_event(event=emit(type=CREATED, payload={}))

    callback_delivery_send(delivery_id=delivery_id)

    assert [r.headers["host"] for r in tls_receiver.requests] == [f"hooks.test:{tls_receiver.port}"]
    assert CallbackDelivery.objects.get().status == CallbackDelivery.Status.SUCCEEDED


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=["hooks.test"])
@pytest.mark.parametrize("tls_receiver", ["someone-else.test"], indirect=True)
def test_https_refuses_a_certificate_for_another_host(dns, tls_receiver):
    dns.answers["hooks.test"] = ["127.0.0.1"]
    callback_endpoint_create(
        name="CRM", url=f"https://hooks.test:{tls_receiver.port}/in", event_types=[CREATED]
    )
    [delivery_id] = callback_deliveries_create_for_event(event=emit(type=CREATED, payload={}))

    callback_delivery_send(delivery_id=delivery_id)

    attempt = CallbackDelivery.objects.get().attempt_log.get()
    assert attempt.status_code is None
    assert "hostname 'hooks.test' doesn't match 'someone-else.test'" in attempt.error
    assert tls_receiver.requests == []


# --- the address rules themselves -------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("10.255.255.255", "a private address"),
        ("172.16.0.1", "a private address"),
        ("127.8.9.10", "a loopback address"),
        ("::", "an unspecified address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:8.8.8.8", None),
        ("2002:c0a8:0101::1", "a private address"),  # 6to4 of 192.168.1.1
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 of 169.254.169.254
        ("198.18.0.1", "a private address"),  # benchmarking
    ],
)
def test_address_kind(address, kind):
    found = url_safety.address_kind(ipaddress.ip_address(address))

    assert (str(found) if found is not None else None) == kind
