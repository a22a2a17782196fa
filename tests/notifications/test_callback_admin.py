"""The callback admin: an endpoint's secret is shown once (after adding and after
rotating) and masked otherwise; test pings and replays reach a real receiver; unsafe URLs
are refused on the form; list pages use a fixed number of queries."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from notifications.events import EventType
from notifications.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint, Event
from notifications.services import emit
from notifications.services.callbacks import (
    callback_deliveries_create_for_event,
    callback_delivery_send,
    callback_endpoint_create,
)
from tests.notifications.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db

CREATED = EventType.USER_SUBSCRIPTION_CREATED
CANCELLED = EventType.USER_SUBSCRIPTION_CANCELLED


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _url(view: str, *args, model: str = "callbackendpoint") -> str:
    return reverse(f"admin:notifications_{model}_{view}", args=args)


def _text(response) -> str:
    """The page, without the whitespace between tags."""
    return re.sub(r">\s+<", "><", response.content.decode())


def _secrets_on(page: str) -> list[str]:
    return re.findall(r"whsec_[A-Za-z0-9+/=]{40,}", page)


# --- adding an endpoint and its secret --------------------------------------------------


def test_adding_an_endpoint_shows_its_secret_once_then_only_masked(staff_client, receiver):
    response = staff_client.post(
        _url("add"),
        {"name": "CRM", "url": receiver.url, "event_types": [CREATED, CANCELLED], "active": "on"},
    )

    endpoint = CallbackEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("secret", endpoint.pk)
    assert (endpoint.name, endpoint.event_types, endpoint.active) == (
        "CRM",
        [CREATED, CANCELLED],
        True,
    )
    first = staff_client.get(response["Location"])
    assert _secrets_on(_text(first)) == [endpoint.secret]
    assert "no-store" in first["Cache-Control"]
    again = staff_client.get(response["Location"])
    assert _secrets_on(_text(again)) == []
    assert endpoint.masked_secret in _text(again)
    change_page = _text(staff_client.get(_url("change", endpoint.pk)))
    assert _secrets_on(change_page) == []
    assert f"<code>whsec_…{endpoint.secret[-4:]}</code>" in change_page


def test_the_add_form_refuses_an_endpoint_without_event_types(staff_client, receiver):
    response = staff_client.post(_url("add"), {"name": "CRM", "url": receiver.url})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "event_types": ["Choose at least one event type."]
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
            "https://10.0.0.5/kontor",
            "10.0.0.5 is a private address; callbacks go only to public addresses.",
        ),
        (
            "https://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local address; callbacks go only to public addresses.",
        ),
    ],
)
def test_the_add_form_refuses_unsafe_urls_in_production(staff_client, url, message):
    response = staff_client.post(
        _url("add"), {"name": "CRM", "url": url, "event_types": [CREATED], "active": "on"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"url": [message]}
    assert CallbackEndpoint.objects.count() == 0


def test_the_change_form_checks_a_changed_url(staff_client, receiver):
    endpoint = callback_endpoint_create(name="CRM", url=receiver.url, event_types=[CREATED])

    with override_settings(KONTOR_CALLBACK_ALLOWED_HOSTS=[]):
        response = staff_client.post(
            _url("change", endpoint.pk),
            {"name": "CRM", "url": "https://[::1]/hooks", "event_types": [CREATED]},
        )

    assert response.context["adminform"].form.errors == {
        "url": ["::1 is a loopback address; callbacks go only to public addresses."]
    }
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.active) == (receiver.url, True)


# --- rotate, ping, replay ---------------------------------------------------------------


def test_rotating_the_secret_asks_first_then_shows_the_new_secret_once(staff_client, receiver):
    endpoint = callback_endpoint_create(name="CRM", url=receiver.url, event_types=[CREATED])
    old_secret = endpoint.secret

    question = staff_client.get(_url("rotate", endpoint.pk))
    assert "For 24 hours callbacks, retries included, carry two signatures" in _text(question)
    endpoint.refresh_from_db()
    assert endpoint.secret == old_secret  # asking changes nothing

    response = staff_client.post(_url("rotate", endpoint.pk))

    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret
    assert endpoint.secret_rotated_at is not None
    assert response["Location"] == _url("secret", endpoint.pk)
    assert _secrets_on(_text(staff_client.get(response["Location"]))) == [endpoint.secret]
    assert _secrets_on(_text(staff_client.get(response["Location"]))) == []


def test_the_change_page_links_to_ping_and_rotate(staff_client, receiver):
    endpoint = callback_endpoint_create(name="CRM", url=receiver.url, event_types=[CREATED])

    page = _text(staff_client.get(_url("change", endpoint.pk)))

    assert f'href="{_url("ping", endpoint.pk)}"' in page
    assert f'href="{_url("rotate", endpoint.pk)}"' in page


def test_a_test_ping_from_the_admin_reaches_the_receiver(
    staff_client, receiver, django_capture_on_commit_callbacks
):
    endpoint = callback_endpoint_create(name="CRM", url=receiver.url, event_types=[CREATED])
    assert staff_client.get(_url("ping", endpoint.pk)).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_url("ping", endpoint.pk))

    delivery = CallbackDelivery.objects.get()
    assert response["Location"] == _url("change", delivery.pk, model="callbackdelivery")
    [request] = receiver.requests
    assert Webhook(endpoint.secret).verify(request.body, request.headers)["type"] == "ping"
    page = _text(staff_client.get(response["Location"]))
    assert "A test ping to CRM is on its way; reload this page to see the answer." in page
    assert '<td class="field-status_code">200</td>' in page


def test_the_ping_action_pings_each_selected_endpoint(
    staff_client, receiver, django_capture_on_commit_callbacks
):
    endpoints = [
        callback_endpoint_create(name=name, url=receiver.url, event_types=[CREATED])
        for name in ("CRM", "ERP")
    ]

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            _url("changelist"),
            {"action": "send_test_ping", "_selected_action": [e.pk for e in endpoints]},
        )

    assert len(receiver.requests) == 2
    assert set(CallbackDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def _failed_delivery(receiver) -> CallbackDelivery:
    callback_endpoint_create(name="CRM", url=receiver.url, event_types=[CREATED])
    [delivery_id] = callback_deliveries_create_for_event(event=emit(type=CREATED, payload={}))
    receiver.answer(Answer(500, body="database is down"))
    callback_delivery_send(delivery_id=delivery_id)
    CallbackDelivery.objects.filter(pk=delivery_id).update(
        status=CallbackDelivery.Status.FAILED, next_attempt_at=None
    )
    return CallbackDelivery.objects.get(pk=delivery_id)


def test_replay_from_the_delivery_page_sends_it_again(
    staff_client, receiver, django_capture_on_commit_callbacks
):
    delivery = _failed_delivery(receiver)
    replay_url = _url("replay", delivery.pk, model="callbackdelivery")
    assert f'href="{replay_url}"' in _text(
        staff_client.get(_url("change", delivery.pk, model="callbackdelivery"))
    )
    assert "Send this event to CRM again, now?" in _text(staff_client.get(replay_url))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(replay_url)

    assert response["Location"] == _url("change", delivery.pk, model="callbackdelivery")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (CallbackDelivery.Status.SUCCEEDED, 1)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [500, 200]


def test_the_replay_action_replays_the_selected_deliveries(
    staff_client, receiver, django_capture_on_commit_callbacks
):
    delivery = _failed_delivery(receiver)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            _url("changelist", model="callbackdelivery"),
            {"action": "replay_selected", "_selected_action": [delivery.pk]},
            follow=True,
        )

    assert "1 delivery replayed." in _text(response)
    delivery.refresh_from_db()
    assert delivery.status == CallbackDelivery.Status.SUCCEEDED


def test_a_delivery_page_shows_every_attempt_and_the_body(staff_client, receiver):
    delivery = _failed_delivery(receiver)

    page = _text(staff_client.get(_url("change", delivery.pk, model="callbackdelivery")))

    assert '<td class="field-status_code">500</td>' in page
    assert "<pre>database is down</pre>" in page
    assert "The receiver answered 500; only 2xx counts as received." in page
    assert f"&quot;event_id&quot;: &quot;{delivery.event.event_id}&quot;" in page
    assert 'name="_save"' not in page  # read-only


def test_staff_without_change_permission_cannot_rotate_ping_or_replay(
    client, django_user_model, receiver
):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user(
        email="viewer@kontor.example", password="pw", is_staff=True
    )
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_callbackendpoint", "view_callbackdelivery"])
    )
    client.force_login(viewer)
    delivery = _failed_delivery(receiver)
    endpoint = delivery.endpoint
    secret = endpoint.secret

    for url in (
        _url("rotate", endpoint.pk),
        _url("ping", endpoint.pk),
        _url("secret", endpoint.pk),
        _url("replay", delivery.pk, model="callbackdelivery"),
    ):
        assert client.post(url).status_code == 403, url

    endpoint.refresh_from_db()
    assert endpoint.secret == secret
    assert Event.objects.count() == 1  # no ping
    assert CallbackAttempt.objects.count() == 1  # no replay


# --- list pages -------------------------------------------------------------------------


def _rows(count: int, receiver) -> None:
    for n in range(count):
        endpoint = callback_endpoint_create(
            name=f"Endpoint {n}", url=receiver.url, event_types=[CREATED, CANCELLED]
        )
        event = Event.objects.create(type=CREATED, payload={"n": n})
        delivery = CallbackDelivery.objects.create(endpoint=endpoint, event=event)
        CallbackAttempt.objects.create(delivery=delivery, status_code=500, error="500")


# session, user, the count of the filtered and of all rows, the rows; the delivery list
# also lists the endpoints for its filter, and its date hierarchy asks for the first and
# last dates and the days between; and the superuser's verified TOTP device.
@pytest.mark.parametrize(("model", "queries"), [("callbackendpoint", 6), ("callbackdelivery", 9)])
def test_list_pages_need_the_same_queries_for_3_rows_as_for_10(
    staff_client, receiver, django_assert_num_queries, model, queries
):
    url = _url("changelist", model=model)
    _rows(3, receiver)
    with django_assert_num_queries(queries):
        assert staff_client.get(url).status_code == 200

    _rows(7, receiver)
    with django_assert_num_queries(queries):
        response = staff_client.get(url)

    assert response.context["cl"].result_count == 10


def test_the_endpoint_list_shows_event_types_and_the_last_delivery_status(staff_client, receiver):
    delivery = _failed_delivery(receiver)
    callback_endpoint_create(
        name="Everything",
        url=receiver.url,
        event_types=[value for value, _label in EventType.choices if value != "ping"],
    )

    page = _text(staff_client.get(_url("changelist")))

    assert '<td class="field-last_delivery">Failed</td>' in page
    assert '<span title="CREATE: user subscription created">CREATE</span>' in page
    assert '<td class="field-event_types_display">All events</td>' in page
    assert delivery.endpoint.name in page
