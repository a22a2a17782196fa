"""Cancelling in the portal: the confirm page quotes both ways to end (date, fee, or why
not), the POST cancels through the lifecycle service, refusals change nothing; undo."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from subscriptions.models import Activity, Charge, Customer, Subscription
from subscriptions.services.lifecycle import subscription_cancellation_quote
from tests.factories import TermFactory
from tests.subscriptions.test_portal_pages import make_customer, make_subscription

pytestmark = pytest.mark.django_db

# 20 March 2026, 13:00 in Berlin: 19 days into the first monthly period, which ends on
# 1 April (the subscription started on 1 March).
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _travel():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner() -> Customer:
    return make_customer("anna@example.com")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner.main_user)
    return client


def _url(name: str, subscription: Subscription) -> str:
    return reverse(f"subscriptions:{name}", args=[subscription.public_id])


def _unchanged(subscription: Subscription) -> None:
    fresh = Subscription.objects.get(pk=subscription.pk)
    assert fresh.status == subscription.status
    assert fresh.cancelled_at == subscription.cancelled_at
    assert fresh.ends_at == subscription.ends_at
    assert not Charge.objects.exists()
    assert not Activity.objects.exists()


def test_confirm_page_quotes_both_ways_without_a_fee(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory())

    response = owner_client.get(_url("subscription_cancel", subscription))

    html = response.content.decode()
    assert response.status_code == 200
    assert ">At the end of the period</label>" in html
    assert "Ends on <strong>April 1, 2026</strong>" in html
    assert ">Now</label>" in html
    assert "Ends immediately, today (<strong>March 20, 2026</strong>)" in html
    assert html.count("No fee.") == 2
    assert 'value="period_end" id="mode-period_end" checked' in html
    assert "Cancel my subscription</button>" in html
    _unchanged(subscription)


def test_confirm_page_says_a_late_cancellation_ends_a_period_later(owner_client, owner):
    # The default term asks for a month's notice: too late for 1 April.
    subscription = make_subscription(owner)

    html = owner_client.get(_url("subscription_cancel", subscription)).content.decode()

    assert "Ends on <strong>May 1, 2026</strong>" in html
    assert "takes effect at the end of the next billing period" in html


def test_confirm_page_shows_the_early_cancellation_fee(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory(with_penalty=True))
    quote = subscription_cancellation_quote(subscription=subscription, mode="period_end")
    assert quote.penalty_amount > 0

    html = owner_client.get(_url("subscription_cancel", subscription)).content.decode()

    assert f"Early-cancellation fee: <strong>€{quote.penalty_amount}</strong>" in html


def test_detail_shows_the_fee_waiting_for_the_next_invoice(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory(with_penalty=True))
    quote = subscription_cancellation_quote(subscription=subscription, mode="period_end")
    owner_client.post(_url("subscription_cancel", subscription), {"mode": "period_end"})

    html = owner_client.get(_url("subscription_detail", subscription)).content.decode()

    assert (
        f"<dt>Early-cancellation penalty</dt><dd>€{quote.penalty_amount}, on your next invoice</dd>"
    ) in html


def test_confirm_page_explains_a_refusal_with_the_earliest_end(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory(not_cancellable=True))

    html = owner_client.get(_url("subscription_cancel", subscription)).content.decode()

    assert "is not possible under your term" in html
    assert "Earliest possible end: <strong>March 1, 2027</strong>" in html
    assert html.count("disabled") == 2
    assert "Cancel my subscription</button>" not in html


def test_cancel_at_period_end_shows_the_effective_date(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory())

    response = owner_client.post(
        _url("subscription_cancel", subscription), {"mode": "period_end"}, follow=True
    )

    assert response.redirect_chain == [(_url("subscription_detail", subscription), 302)]
    html = response.content.decode()
    assert "Your subscription is cancelled. It ends on April 1, 2026." in html
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    assert subscription.cancelled_at == NOW
    assert Activity.objects.filter(subscription=subscription, actor=owner.main_user).exists()


def test_cancel_now_ends_the_subscription(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory())

    response = owner_client.post(_url("subscription_cancel", subscription), {"mode": "now"})

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "ended"
    assert subscription.ended_at == NOW


def test_refused_cancellation_shows_why_and_changes_nothing(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory(not_cancellable=True))

    response = owner_client.post(
        _url("subscription_cancel", subscription), {"mode": "period_end"}, follow=True
    )

    assert response.redirect_chain == [(_url("subscription_cancel", subscription), 302)]
    html = response.content.decode()
    assert 'class="alert alert-error"' in html
    assert "is not possible under your term" in html
    _unchanged(subscription)


def test_cancel_without_a_choice_asks_for_one(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory())

    response = owner_client.post(_url("subscription_cancel", subscription), {"mode": "soon"})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    _unchanged(subscription)


def test_undo_withdraws_a_pending_cancellation(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory())
    owner_client.post(_url("subscription_cancel", subscription), {"mode": "period_end"})

    response = owner_client.post(_url("subscription_undo_cancellation", subscription), follow=True)

    assert "Your cancellation is withdrawn" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert subscription.ends_at is None


def test_undo_of_an_active_subscription_is_refused_and_changes_nothing(owner_client, owner):
    subscription = make_subscription(owner)

    response = owner_client.post(_url("subscription_undo_cancellation", subscription), follow=True)

    assert "Only a cancellation that has not taken effect yet can be undone." in (
        response.content.decode()
    )
    _unchanged(subscription)


def test_undo_refuses_get(owner_client, owner):
    subscription = make_subscription(
        owner, status="cancelled", cancelled_at=NOW, ends_at=datetime(2026, 4, 1, tzinfo=UTC)
    )

    response = owner_client.get(_url("subscription_undo_cancellation", subscription))

    assert response.status_code == 405
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"


@pytest.mark.parametrize("name", ["subscription_cancel", "subscription_undo_cancellation"])
def test_anonymous_visitor_is_sent_to_the_login_page(client, owner, name):
    url = _url(name, make_subscription(owner))

    response = client.post(url, {"mode": "now"})

    assert response.status_code == 302
    assert response["Location"] == f"/portal/login/?next={url}"


# --- the cancellation applied is the one confirmed ----------------------------------------

# 14 days' notice on a subscription started 1 March 2026 at 12:00 in Berlin: a cancellation
# received by 17 April 12:00 ends on 1 May, a later one on 1 June. On a midnight-anchored
# subscription (1 March 00:00) the last day is 16 April.
BEFORE_MIDNIGHT = datetime(2026, 4, 16, 21, 59, 50, tzinfo=UTC)  # 23:59:50 in Berlin
AFTER_MIDNIGHT = datetime(2026, 4, 16, 22, 0, 10, tzinfo=UTC)  # 00:00:10 on 17 April
SAME_DAY = datetime(2026, 4, 16, 21, 59, 58, tzinfo=UTC)


def _midnight_subscription(owner: Customer) -> Subscription:
    started = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # 1 March 00:00 in Berlin
    return make_subscription(
        owner,
        term=TermFactory(notice_period_count=14, notice_period_unit="day"),
        started_at=started,
        commitment_starts_at=started,
        current_period_start=datetime(2026, 3, 31, 22, 0, tzinfo=UTC),
        current_period_end=datetime(2026, 4, 30, 22, 0, tzinfo=UTC),
    )


def _confirmed(html: str, mode: str) -> dict[str, str]:
    fields = {"mode": mode}
    for name in (f"end_{mode}", f"penalty_{mode}"):
        match = re.search(rf'name="{name}" value="([^"]*)"', html)
        fields[name] = match.group(1)
    return fields


def test_confirm_page_carries_the_quoted_date_and_fee_per_way(owner_client, owner):
    subscription = _midnight_subscription(owner)

    with time_machine.travel(BEFORE_MIDNIGHT, tick=False):
        owner_client.force_login(owner.main_user)  # a fresh session, a month later
        html = owner_client.get(_url("subscription_cancel", subscription)).content.decode()

    assert _confirmed(html, "period_end") == {
        "mode": "period_end",
        "end_period_end": "2026-05-01T00:00:00+02:00",
        "penalty_period_end": "0.00",
    }
    assert _confirmed(html, "now")["end_now"] == "2026-04-16T21:59:50+00:00"


def test_a_cancellation_confirmed_before_midnight_and_posted_after_it_is_refused(
    owner_client, owner
):
    subscription = _midnight_subscription(owner)
    with time_machine.travel(BEFORE_MIDNIGHT, tick=False):
        owner_client.force_login(owner.main_user)  # a fresh session, a month later
        html = owner_client.get(_url("subscription_cancel", subscription)).content.decode()
    assert "Ends on <strong>May 1, 2026</strong>" in html

    with time_machine.travel(AFTER_MIDNIGHT, tick=False):
        response = owner_client.post(
            _url("subscription_cancel", subscription),
            _confirmed(html, "period_end"),
            follow=True,
        )

    assert response.redirect_chain == [(_url("subscription_cancel", subscription), 302)]
    page = response.content.decode()
    assert "The terms of your cancellation have changed; please review them again." in page
    assert "Ends on <strong>June 1, 2026</strong>" in page
    _unchanged(subscription)


def test_a_cancellation_confirmed_and_posted_the_same_day_is_applied(owner_client, owner):
    subscription = _midnight_subscription(owner)
    with time_machine.travel(BEFORE_MIDNIGHT, tick=False):
        owner_client.force_login(owner.main_user)  # a fresh session, a month later
        html = owner_client.get(_url("subscription_cancel", subscription)).content.decode()

    with time_machine.travel(SAME_DAY, tick=False):
        response = owner_client.post(
            _url("subscription_cancel", subscription), _confirmed(html, "period_end")
        )

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    assert subscription.ends_at == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)


def test_cancel_now_on_a_pending_cancellation_ends_it_from_the_page(owner_client, owner):
    subscription = make_subscription(owner, term=TermFactory())
    owner_client.post(_url("subscription_cancel", subscription), {"mode": "period_end"})

    html = owner_client.get(_url("subscription_cancel", subscription)).content.decode()
    response = owner_client.post(_url("subscription_cancel", subscription), _confirmed(html, "now"))

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "ended"
    assert subscription.ended_at == NOW
