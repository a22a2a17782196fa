"""Issue 10, outgoing requests: a table of hostile callback URLs is refused when an
endpoint is saved (CallbackEndpoint.full_clean) and again when a callback is sent (the
delivery path, for an endpoint row written past the validation, e.g. saved while its
DNS still answered a public address). Receivers that redirect are real local HTTP
servers; the redirect is never followed.

Numeric host forms (decimal, octal, hex, short) are resolved by the real system
resolver, which reads them as C's inet_aton does; names are answered by a fake DNS at
the one seam, `notifications.url_safety.getaddrinfo`."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from notifications import url_safety
from notifications.events import EventType
from notifications.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint
from notifications.services import emit
from notifications.services.callbacks import (
    callback_deliveries_create_for_event,
    callback_delivery_send,
)
from notifications.signing import secret_generate
from tests.notifications.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db

CREATED = EventType.USER_SUBSCRIPTION_CREATED
PUBLIC = "93.184.215.14"
NAMES = {
    "metadata.google.internal": ["169.254.169.254"],
    "internal.example.com": ["10.1.2.3"],
    "rebind.example.com": [PUBLIC, "127.0.0.1"],  # one bad answer is enough
    "mapped.example.com": ["::ffff:10.0.0.1"],
    "nat64.example.com": ["64:ff9b::a9fe:a9fe"],
    "hooks.example.com": [PUBLIC],
}

# (url, what the refusal says); PORT is replaced by a live local receiver's port, so a
# callback that got through to a loopback address would arrive there.
HOSTILE = [
    ("https://127.0.0.1:PORT/hooks", "127.0.0.1 is a loopback address"),
    ("https://127.1:PORT/hooks", "127.1 resolves to 127.0.0.1, a loopback address"),
    ("https://2130706433:PORT/hooks", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ("https://0177.0.0.1:PORT/hooks", "0177.0.0.1 resolves to 127.0.0.1, a loopback address"),
    ("https://0x7f000001:PORT/hooks", "0x7f000001 resolves to 127.0.0.1, a loopback address"),
    ("https://017700000001:PORT/", "017700000001 resolves to 127.0.0.1, a loopback address"),
    ("https://localhost:PORT/hooks", "localhost resolves to"),
    ("https://[::1]:PORT/hooks", "::1 is a loopback address"),
    ("https://[::ffff:127.0.0.1]:PORT/", "::ffff:127.0.0.1 is a loopback address"),
    ("https://0.0.0.0:PORT/hooks", "0.0.0.0 is an unspecified address"),
    ("https://0:PORT/hooks", "0 resolves to 0.0.0.0, an unspecified address"),
    ("https://10.0.0.1/hooks", "10.0.0.1 is a private address"),
    ("https://172.16.5.4/hooks", "172.16.5.4 is a private address"),
    ("https://192.168.1.1/hooks", "192.168.1.1 is a private address"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a private address"),
    ("https://100.100.100.200/latest/meta-data/", "100.100.100.200 is not a public address"),
    ("https://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe is a link-local address"),
    ("https://[fe80::1]/hooks", "fe80::1 is a link-local address"),
    ("https://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe is a link-local address"),
    ("https://metadata.google.internal/computeMetadata/v1/",
     "metadata.google.internal resolves to 169.254.169.254, a link-local address"),
    ("https://internal.example.com/hooks",
     "internal.example.com resolves to 10.1.2.3, a private address"),
    ("https://rebind.example.com/hooks",
     "rebind.example.com resolves to 127.0.0.1, a loopback address"),
    ("https://mapped.example.com/hooks",
     "mapped.example.com resolves to ::ffff:a00:1 (10.0.0.1), a private address"),
    ("https://nat64.example.com/hooks",
     "nat64.example.com resolves to 64:ff9b::a9fe:a9fe (169.254.169.254), a link-local "
     "address"),
    ("file:///etc/passwd", "Enter a full URL starting with https://."),
    ("gopher://127.0.0.1:6379/_INFO", "Enter a full URL starting with https://."),
    ("http://hooks.example.com/hooks", "Callback URLs must use https"),
    ("https://admin:secret@hooks.example.com/", "Remove the user name and password"),
]  # fmt: skip


class TableDNS:
    """The table's names from NAMES; everything else (IP literals, numeric forms,
    localhost) from the real system resolver, which sends nothing for those."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        self.asked.append(host)
        if host in NAMES:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port))
                for a in NAMES[host]
            ]  # fmt: skip
        return socket.getaddrinfo(host, port, *args, **kwargs)


@pytest.fixture
def dns(monkeypatch):
    fake = TableDNS()
    monkeypatch.setattr(url_safety, "getaddrinfo", fake)
    return fake


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def posts(monkeypatch):
    """Every POST the delivery path makes (the real one still runs)."""
    made = []
    real = url_safety.post_pinned

    def recording(checked, **kwargs):
        made.append(checked.url)
        return real(checked, **kwargs)

    monkeypatch.setattr(url_safety, "post_pinned", recording)
    return made


def test_the_table_has_at_least_twenty_hostile_urls():
    assert len(HOSTILE) >= 20
    assert len({url for url, _ in HOSTILE}) == len(HOSTILE)


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[])
@pytest.mark.parametrize(("url", "message"), HOSTILE, ids=[url for url, _ in HOSTILE])
def test_a_hostile_url_is_refused_when_the_endpoint_is_saved(dns, receiver, url, message):
    endpoint = CallbackEndpoint(
        name="CRM", url=url.replace("PORT", str(receiver.port)), event_types=[CREATED],
        secret="whsec_x",
    )  # fmt: skip

    with pytest.raises(ValidationError) as refused:
        endpoint.full_clean()

    errors = refused.value.message_dict["url"]
    assert any(message in error for error in errors), errors
    assert CallbackEndpoint.objects.count() == 0
    assert receiver.requests == []


@override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[])
@pytest.mark.parametrize(("url", "message"), HOSTILE, ids=[url for url, _ in HOSTILE])
def test_a_hostile_url_is_refused_when_a_callback_is_sent(dns, receiver, posts, url, message):
    # Written past the validation, as a row saved while its DNS still said "public".
    CallbackEndpoint.objects.create(
        name="CRM", url=url.replace("PORT", str(receiver.port)), event_types=[CREATED],
        secret="whsec_x",
    )  # fmt: skip
    [delivery_id] = callback_deliveries_create_for_event(event=emit(type=CREATED, payload={}))

    callback_delivery_send(delivery_id=delivery_id)

    attempt = CallbackAttempt.objects.get()
    assert message in attempt.error
    assert attempt.error.endswith("Nothing was sent.")
    assert (attempt.succeeded, attempt.status_code) == (False, None)
    assert CallbackDelivery.objects.get().status != CallbackDelivery.Status.SUCCEEDED
    assert posts == []
    assert receiver.requests == []


# --- redirects: the receiver is allowed (a local test receiver); where it points is not --


@pytest.fixture
def internal():
    """A service only our machine reaches; nothing may ever arrive here."""
    with Receiver() as internal:
        yield internal


@pytest.mark.parametrize(
    ("status", "target"),
    [
        (301, "http://127.0.0.1:INTERNAL/admin"),
        (302, "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
        (303, "http://10.0.0.1/"),
        (307, "http://localhost:INTERNAL/hooks"),
        (308, "file:///etc/passwd"),
        (302, "http://2130706433:INTERNAL/"),
    ],
)
def test_a_redirect_to_a_hostile_target_is_never_followed(
    dns, receiver, internal, posts, status, target
):
    location = target.replace("INTERNAL", str(internal.port))
    receiver.answer(Answer(status=status, headers={"Location": location}))
    CallbackEndpoint.objects.create(
        name="CRM", url=receiver.url, event_types=[CREATED], secret=secret_generate()
    )
    [delivery_id] = callback_deliveries_create_for_event(event=emit(type=CREATED, payload={}))

    callback_delivery_send(delivery_id=delivery_id)

    attempt = CallbackAttempt.objects.get()
    assert (attempt.succeeded, attempt.status_code) == (False, status)
    assert attempt.error == (
        "The receiver answered with a redirect; callbacks do not follow redirects."
    )
    assert len(receiver.requests) == 1
    assert posts == [receiver.url]  # one POST, to the endpoint itself
    assert internal.requests == []
