"""Staff run the lifecycle from the subscription admin: cancel at period end, cancel now,
undo, end now — each through its service, with a confirmation page, an Activity row
naming the staff member, and the service's refusal shown as an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from notifications.events import EventType
from subscriptions.models import Activity, Charge, Subscription, User
from subscriptions.roles import CATALOG_MANAGER, CUSTOMER_SUPPORT
from tests.factories import TermFactory
from tests.subscriptions.test_portal_pages import make_customer, make_subscription

pytestmark = pytest.mark.django_db

# 20 March 2026, 13:00 in Berlin; the monthly period runs from 1 March to 1 April.
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
LIST = reverse("admin:subscriptions_subscription_changelist")


@pytest.fixture(autouse=True)
def _travel():
    with time_machine.travel(NOW, tick=False):
        yield


def staff(role: str) -> User:
    user = User.objects.create_user(email=f"{role[:4].lower()}@kontor.example", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def support() -> User:
    return staff(CUSTOMER_SUPPORT)


@pytest.fixture
def support_client(client, support):
    client.force_login(support)
    return client


def step_url(subscription: Subscription, step: str) -> str:
    return reverse("admin:subscriptions_subscription_lifecycle", args=[subscription.pk, step])


def change_url(subscription: Subscription) -> str:
    return reverse("admin:subscriptions_subscription_change", args=[subscription.pk])


def run(client, subscription: Subscription, step: str):
    return client.post(step_url(subscription, step), follow=True)


def test_the_subscription_page_offers_the_lifecycle_steps_to_support(support_client):
    subscription = make_subscription(make_customer("anna@example.com"), term=TermFactory())

    html = support_client.get(change_url(subscription)).content.decode()

    for step in ("cancel_at_period_end", "cancel_now", "undo_cancellation", "end_now"):
        assert step_url(subscription, step) in html


def test_the_confirmation_page_shows_the_quote_and_changes_nothing(support_client):
    subscription = make_subscription(make_customer("anna@example.com"), term=TermFactory())

    response = support_client.get(step_url(subscription, "cancel_at_period_end"))

    assert response.status_code == 200
    assert "Your subscription ends on 1 April 2026." in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert not Activity.objects.exists()


def test_cancel_at_period_end_from_the_admin(support_client, support):
    subscription = make_subscription(make_customer("anna@example.com"), term=TermFactory())

    response = run(support_client, subscription, "cancel_at_period_end")

    assert response.redirect_chain == [(change_url(subscription), 302)]
    assert "is cancelled; it ends on April 1, 2026." in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    assert subscription.ends_at == datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    activity = Activity.objects.get(subscription=subscription)
    assert (activity.verb, activity.actor) == (EventType.SUBSCRIPTION_CANCELLED, support)


def test_cancel_now_from_the_admin(support_client, support):
    subscription = make_subscription(make_customer("anna@example.com"), term=TermFactory())

    response = run(support_client, subscription, "cancel_now")

    assert "is cancelled and ended on March 20, 2026." in response.content.decode()
    subscription.refresh_from_db()
    assert (subscription.status, subscription.ended_at) == ("ended", NOW)
    activity = Activity.objects.get(subscription=subscription)
    assert (activity.verb, activity.actor) == (EventType.SUBSCRIPTION_ENDED, support)


def test_undo_cancellation_from_the_admin(support_client, support):
    subscription = make_subscription(make_customer("anna@example.com"), term=TermFactory())
    run(support_client, subscription, "cancel_at_period_end")

    response = run(support_client, subscription, "undo_cancellation")

    assert "is withdrawn; it continues." in response.content.decode()
    subscription.refresh_from_db()
    assert (subscription.status, subscription.ends_at) == ("active", None)
    activity = Activity.objects.filter(subscription=subscription).latest("pk")
    assert (activity.verb, activity.actor) == (
        EventType.SUBSCRIPTION_CANCELLATION_UNDONE,
        support,
    )


def test_end_now_from_the_admin_ignores_the_term(support_client, support):
    subscription = make_subscription(
        make_customer("anna@example.com"), term=TermFactory(not_cancellable=True)
    )

    response = run(support_client, subscription, "end_now")

    assert "ended on March 20, 2026." in response.content.decode()
    subscription.refresh_from_db()
    assert (subscription.status, subscription.ended_at) == ("ended", NOW)
    activity = Activity.objects.get(subscription=subscription)
    assert (activity.verb, activity.actor) == (EventType.SUBSCRIPTION_ENDED, support)


def test_a_refused_cancellation_shows_why_and_changes_nothing(support_client):
    subscription = make_subscription(
        make_customer("anna@example.com"), term=TermFactory(not_cancellable=True)
    )

    response = run(support_client, subscription, "cancel_at_period_end")

    html = response.content.decode()
    assert 'class="error"' in html
    assert "is not possible under your term" in html
    subscription.refresh_from_db()
    assert (subscription.status, subscription.cancelled_at) == ("active", None)
    assert not Activity.objects.exists()
    assert not Charge.objects.exists()


def test_the_list_action_confirms_first_then_runs_the_service_per_row(support_client, support):
    anna = make_subscription(make_customer("anna@example.com"), term=TermFactory())
    ben = make_subscription(
        make_customer("ben@example.com", name="Ben"), term=TermFactory(not_cancellable=True)
    )
    selected = {"action": "cancel_at_period_end", "_selected_action": [anna.pk, ben.pk]}

    confirm = support_client.post(LIST, selected)

    assert confirm.status_code == 200
    assert "Your subscription ends on 1 April 2026." in confirm.content.decode()
    assert not Activity.objects.exists()

    response = support_client.post(LIST, {**selected, "post": "yes"}, follow=True)

    html = response.content.decode()
    assert "is cancelled; it ends on April 1, 2026." in html
    assert "is not possible under your term" in html
    anna.refresh_from_db()
    ben.refresh_from_db()
    assert (anna.status, ben.status) == ("cancelled", "active")
    assert Activity.objects.get().actor == support


def test_staff_without_change_permission_cannot_run_a_step(client):
    client.force_login(staff(CATALOG_MANAGER))
    subscription = make_subscription(make_customer("anna@example.com"), term=TermFactory())

    assert client.get(step_url(subscription, "cancel_now")).status_code == 403
    assert client.post(step_url(subscription, "cancel_now")).status_code == 403
    assert (
        step_url(subscription, "cancel_now")
        not in client.get(change_url(subscription)).content.decode()
    )
    subscription.refresh_from_db()
    assert subscription.status == "active"
