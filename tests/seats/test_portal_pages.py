"""The main user's seat pages: the seat list, cancel / undo / reactivate, the log and its
CSV, and an invited user's own access. Every page as owner, other customer (404) and
anonymous (login)."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.urls import reverse

from seats.models import Invitation, LogEntry, UserSubscription
from seats.services.seats import user_subscription_start
from seats.views.portal import csv_cell
from tests.seats.factories import NOW, PERIOD_END, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account():
    return SeatAccountFactory()


@pytest.fixture
def owner(account):
    return account.subscription.customer.main_user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def start(account, email, **names):
    user = UserFactory(email=email, **names)
    return user, user_subscription_start(account=account, user=user, via="invitation", now=NOW)


def invite_row(account, email="ivy@example.com") -> Invitation:
    return Invitation.objects.create(
        seat_account=account,
        email=email,
        code_hash=f"{hash(email):064x}"[-64:].replace("-", "0"),
        expires_at=PERIOD_END,
    )


def page_urls(account, access=None, invitation=None) -> dict[str, str]:
    a = account.public_id
    urls = {
        "seat_list": reverse("seats:seat_list", args=[a]),
        "invite": reverse("seats:invite", args=[a]),
        "upload": reverse("seats:upload", args=[a]),
        "log": reverse("seats:log", args=[a]),
        "log_csv": reverse("seats:log_csv", args=[a]),
    }
    if access is not None:
        urls["cancel"] = reverse("seats:cancel", args=[a, access.public_id])
        urls["reactivate"] = reverse("seats:reactivate", args=[a, access.public_id])
    if invitation is not None:
        urls["revoke"] = reverse("seats:revoke", args=[a, invitation.public_id])
        urls["resend"] = reverse("seats:resend", args=[a, invitation.public_id])
    return urls


POST_ONLY = {"cancel", "reactivate", "revoke", "resend"}


def test_the_seat_list_shows_users_products_states_invitations_and_the_seat_count(
    owner_client, account
):
    start(account, "rita@example.com", first_name="Rita", last_name="Roth")
    invite_row(account)

    response = owner_client.get(reverse("seats:seat_list", args=[account.public_id]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Rita Roth" in html
    assert "rita@example.com" in html
    assert "ivy@example.com" in html
    assert "2 of 4" in html
    assert ", 2 free" in html
    rows = response.context["listing"].rows
    assert len(rows) == 1
    assert rows[0].state == "active"
    assert len(rows[0].user_subscriptions) == 2


def test_the_seat_list_searches_by_email_or_name_and_filters_by_state(owner_client, account):
    start(account, "rita@example.com", first_name="Rita", last_name="Roth")
    _, accesses = start(account, "tom@example.com", first_name="Tom", last_name="Tal")
    UserSubscription.objects.filter(pk__in=[a.pk for a in accesses]).update(
        state="ended", ended_at=NOW
    )
    invite_row(account)
    url = reverse("seats:seat_list", args=[account.public_id])

    def emails(**params):
        listing = owner_client.get(url, params).context["listing"]
        return [r.user.email for r in listing.rows] + [i.email for i in listing.invitations]

    assert emails() == ["rita@example.com", "tom@example.com", "ivy@example.com"]
    assert emails(q="ROTH") == ["rita@example.com"]
    assert emails(q="Tom Tal") == ["tom@example.com"]
    assert emails(q="ivy") == ["ivy@example.com"]
    assert emails(state="ended") == ["tom@example.com"]
    assert emails(state="active") == ["rita@example.com"]
    assert emails(state="pending") == ["ivy@example.com"]


def test_every_seat_page_answers_another_customer_with_404_and_changes_nothing(client, account):
    _, accesses = start(account, "rita@example.com")
    invitation = invite_row(account)
    stranger = SeatAccountFactory().subscription.customer.main_user
    client.force_login(stranger)
    before = (UserSubscription.objects.filter(state="active").count(), LogEntry.objects.count())

    for name, url in page_urls(account, accesses[0], invitation).items():
        response = client.post(url, {"mode": "now"}) if name in POST_ONLY else client.get(url)
        assert response.status_code == 404, name

    assert (UserSubscription.objects.filter(state="active").count(), LogEntry.objects.count()) == (
        before
    )
    assert Invitation.objects.get().status == "pending"


def test_an_invited_user_of_the_account_gets_404_on_the_main_users_pages(client, account):
    user, accesses = start(account, "rita@example.com")
    user.customer = account.subscription.customer
    user.save()
    client.force_login(user)

    for name, url in page_urls(account, accesses[0]).items():
        response = client.post(url, {"mode": "now"}) if name in POST_ONLY else client.get(url)
        assert response.status_code == 404, name


def test_every_seat_page_sends_an_anonymous_visitor_to_the_login(client, account):
    _, accesses = start(account, "rita@example.com")
    urls = page_urls(account, accesses[0], invite_row(account))
    urls["my_access"] = reverse("seats:my_access")

    for name, url in urls.items():
        response = client.post(url) if name in POST_ONLY else client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("subscriptions:login")), name


def test_the_subscription_page_link_makes_the_seat_account_on_the_first_visit(owner_client):
    from tests.seats.factories import MultiUserSubscriptionFactory

    subscription = MultiUserSubscriptionFactory()
    owner_client.force_login(subscription.customer.main_user)

    response = owner_client.get(reverse("seats:seat_list", args=[subscription.public_id]))

    account = subscription.seat_account
    assert response.status_code == 302
    assert response["Location"] == reverse("seats:seat_list", args=[account.public_id])
    assert account.maximum_users == 4


def test_the_subscription_link_of_a_single_user_subscription_is_404(owner_client, owner):
    from tests.subscriptions.factories import SubscriptionFactory

    subscription = SubscriptionFactory(customer=owner.customer)

    response = owner_client.get(reverse("seats:seat_list", args=[subscription.public_id]))

    assert response.status_code == 404


def test_cancel_at_period_end_then_undo_then_end_now_then_reactivate(owner_client, account, owner):
    _, accesses = start(account, "rita@example.com")
    access = accesses[0]
    a = account.public_id

    response = owner_client.post(
        reverse("seats:cancel", args=[a, access.public_id]), {"mode": "period_end"}, follow=True
    )
    access.refresh_from_db()
    assert (access.state, access.ends_at) == ("cancelled", PERIOD_END)
    assert "ends on Feb. 1, 2027" in response.content.decode()

    owner_client.post(reverse("seats:reactivate", args=[a, access.public_id]))
    access.refresh_from_db()
    assert (access.state, access.ends_at) == ("active", None)

    response = owner_client.post(
        reverse("seats:cancel", args=[a, access.public_id]), {"mode": "now"}, follow=True
    )
    access.refresh_from_db()
    assert access.state == "ended"
    assert "rita@example.com to" in response.content.decode()
    assert "has ended." in response.content.decode()
    ended = LogEntry.objects.get(user_subscription=access, action="ended")
    assert (ended.actor, ended.at) == (owner, NOW)

    owner_client.post(reverse("seats:reactivate", args=[a, access.public_id]))
    running = UserSubscription.objects.get(user=access.user, product=access.product, state="active")
    assert running.pk != access.pk


def test_a_refused_cancellation_is_shown_and_changes_nothing(owner_client, account):
    _, accesses = start(account, "rita@example.com")
    access = accesses[0]
    UserSubscription.objects.filter(pk=access.pk).update(state="ended", ended_at=NOW)
    entries = LogEntry.objects.count()

    response = owner_client.post(
        reverse("seats:cancel", args=[account.public_id, access.public_id]),
        {"mode": "now"},
        follow=True,
    )

    assert "This access has already ended." in response.content.decode()
    assert LogEntry.objects.count() == entries


def test_cancel_and_reactivate_refuse_get(owner_client, account):
    _, accesses = start(account, "rita@example.com")
    for name in ("cancel", "reactivate"):
        url = reverse(f"seats:{name}", args=[account.public_id, accesses[0].public_id])
        assert owner_client.get(url).status_code == 405


def test_the_log_lists_and_filters_entries(owner_client, account):
    start(account, "rita@example.com")
    _, accesses = start(account, "tom@example.com")
    product = accesses[0].product
    url = reverse("seats:log", args=[account.public_id])

    def entries(**params):
        page = owner_client.get(url, params).context["page"]
        return sorted((e.user.email, e.product.name, e.action) for e in page.object_list)

    assert len(entries()) == 4
    assert entries(user="tom", product=product.pk) == [("tom@example.com", product.name, "started")]
    assert entries(action="ended") == []
    assert len(entries(since="2027-01-15", until="2027-01-15")) == 4
    assert entries(since="2027-01-16") == []


def test_the_log_csv_has_every_entry_and_neutralises_formulas(owner_client, account):
    start(account, "rita@example.com", first_name="=HYPERLINK(1)", last_name="")

    response = owner_client.get(reverse("seats:log_csv", args=[account.public_id]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["When (UTC)", "User"]
    assert len(rows) == 3
    assert {row[2] for row in rows[1:]} == {"'=HYPERLINK(1)"}
    assert rows[1][0] == "2027-01-15T11:00:00+00:00"
    assert rows[1][6] == "by invitation"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+49", "'+49"), ("-2", "'-2"), ("@SUM", "'@SUM"), ("ok", "ok")],
)
def test_csv_cells_never_start_a_formula(value, expected):
    assert csv_cell(value) == expected


def test_my_access_shows_the_users_own_access_and_lets_them_end_it_when_allowed(client, account):
    user, accesses = start(account, "rita@example.com")
    start(account, "tom@example.com")
    client.force_login(user)
    url = reverse("seats:my_access")

    response = client.get(url)
    assert [a.user for a in response.context["accesses"]] == [user, user]
    assert "End my access now" not in response.content.decode()

    response = client.post(url, {"user_subscription": accesses[0].public_id}, follow=True)
    assert "Ask the subscription" in response.content.decode()
    assert UserSubscription.objects.filter(user=user, state="active").count() == 2

    account.users_may_cancel = True
    account.save()
    assert "End my access now" in client.get(url).content.decode()
    client.post(url, {"user_subscription": accesses[0].public_id})
    accesses[0].refresh_from_db()
    assert accesses[0].state == "ended"
    assert LogEntry.objects.get(user_subscription=accesses[0], action="ended").actor == user


def test_my_access_refuses_someone_elses_access_with_404(client, account):
    _, accesses = start(account, "rita@example.com")
    account.users_may_cancel = True
    account.save()
    client.force_login(UserFactory())

    response = client.post(reverse("seats:my_access"), {"user_subscription": accesses[0].public_id})

    assert response.status_code == 404
    accesses[0].refresh_from_db()
    assert accesses[0].state == "active"
    assert client.post(reverse("seats:my_access"), {"user_subscription": "x"}).status_code == 404


def test_the_subscription_page_links_a_multi_user_subscription_to_its_users(owner_client, account):
    subscription = account.subscription
    url = reverse("subscriptions:subscription_detail", args=[subscription.public_id])

    html = owner_client.get(url).content.decode()

    assert reverse("seats:seat_list", args=[subscription.public_id]) in html
    assert "Manage users" in html
