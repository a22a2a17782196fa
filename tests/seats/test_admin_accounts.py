"""The merchant backend for seats: the multi-user account list and page, inviting and
adding a user through the services, list actions on user subscriptions and invitations,
the read-only log with its CSV export, and the customer page's section."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from seats.models import Invitation, LogEntry, SeatAccount, UserSubscription
from seats.services.seats import user_subscription_start
from subscriptions.roles import CUSTOMER_SUPPORT
from tests.seats.factories import NOW, PERIOD_END, SeatAccountFactory, UserFactory
from tests.seats.test_portal_queries import fill

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def account():
    return SeatAccountFactory()


def start(account, email):
    user = UserFactory(email=email)
    return user_subscription_start(account=account, user=user, via="invitation", now=NOW)


@pytest.mark.parametrize("seats", [10, 1000])
def test_the_account_list_shows_seats_used_and_free_with_fixed_queries(
    staff_client, seats, django_assert_num_queries
):
    account = SeatAccountFactory(maximum_users=2000)
    fill(account, seats)
    SeatAccountFactory()
    staff_client.get(reverse("admin:index"))

    # session, user; the count twice (filtered and total), the page; the date
    # hierarchy; the sidebar's and filters' fixed extras; nothing per row.
    with django_assert_num_queries(8):  # 7 + the verified TOTP device
        response = staff_client.get(reverse("admin:seats_seataccount_changelist"))

    html = response.content.decode()
    used = seats + seats // 10
    assert f'<td class="field-seats_used">{used}</td>' in html
    assert f'<td class="field-seats_free">{2000 - used}</td>' in html


def test_the_account_page_shows_users_invitations_and_links(staff_client, account):
    start(account, "rita@example.com")
    Invitation.objects.create(
        seat_account=account, email="ivy@example.com", code_hash="a" * 64, expires_at=PERIOD_END
    )

    response = staff_client.get(reverse("admin:seats_seataccount_change", args=[account.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "rita@example.com" in html
    assert "ivy@example.com" in html
    assert "3 used (1 users, 1 invitations), 1 free" not in html  # maximum 4: 2 used
    assert "2 used (1 users, 1 invitations), 2 free" in html
    assert reverse("admin:seats_seataccount_invite", args=[account.pk]) in html
    assert f"/admin/seats/logentry/?seat_account__id__exact={account.pk}" in html


def test_staff_invite_through_the_service_and_see_refusals(staff_client, account):
    url = reverse("admin:seats_seataccount_invite", args=[account.pk])
    data = {"email": "ivy@example.com", "first_name": "", "last_name": "", "language": "en"}

    response = staff_client.post(url, data)
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.status == "pending"

    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Invitation.objects.count() == 1


def test_staff_add_an_existing_user_who_gets_access_at_once(staff_client, account):
    user = UserFactory(email="rita@example.com")
    url = reverse("admin:seats_seataccount_add_user", args=[account.pk])

    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"user": user.pk})

    assert response.status_code == 302
    assert UserSubscription.objects.filter(user=user, state="active").count() == 2
    assert LogEntry.objects.filter(user=user, via="staff").count() == 2

    response = staff_client.post(url, {"user": user.pk})
    assert response.context["form"].non_field_errors()
    assert UserSubscription.objects.filter(user=user).count() == 2


def test_viewers_without_change_rights_cannot_invite_or_add(client, account):
    support = UserFactory(email="support@kontor.example", is_staff=True)
    support.groups.add(Group.objects.get(name=CUSTOMER_SUPPORT))
    client.force_login(support)
    can_change = support.has_perm("seats.change_seataccount")

    for name in ("invite", "add_user"):
        response = client.post(
            reverse(f"admin:seats_seataccount_{name}", args=[account.pk]),
            {"email": "x@example.com", "language": "en"},
        )
        assert response.status_code in ((200, 302) if can_change else (403,))
    if not can_change:
        assert not Invitation.objects.exists()


def test_list_actions_cancel_undo_end_and_reactivate_through_the_services(staff_client, account):
    accesses = start(account, "rita@example.com")
    url = reverse("admin:seats_usersubscription_changelist")
    ids = [a.pk for a in accesses]

    def act(action):
        return staff_client.post(
            url, {"action": action, "_selected_action": ids, "index": 0}, follow=True
        )

    act("cancel_at_period_end")
    assert set(UserSubscription.objects.values_list("state", flat=True)) == {"cancelled"}
    act("undo_cancellation")
    assert set(UserSubscription.objects.values_list("state", flat=True)) == {"active"}
    act("cancel_now")
    assert set(UserSubscription.objects.values_list("state", flat=True)) == {"ended"}
    response = act("cancel_now")
    assert "This access has already ended." in response.content.decode()
    act("reactivate")
    assert UserSubscription.objects.filter(state="active").count() == 2


def test_invitation_actions_revoke_and_resend(staff_client, account):
    staff_client.post(
        reverse("admin:seats_seataccount_invite", args=[account.pk]),
        {"email": "ivy@example.com", "language": "en"},
    )
    invitation = Invitation.objects.get()
    url = reverse("admin:seats_invitation_changelist")
    old_hash = invitation.code_hash

    staff_client.post(url, {"action": "resend", "_selected_action": [invitation.pk]})
    invitation.refresh_from_db()
    assert invitation.code_hash != old_hash
    staff_client.post(url, {"action": "revoke", "_selected_action": [invitation.pk]})
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


@pytest.mark.parametrize(
    "name",
    [
        "seats_seataccount_changelist",
        "seats_usersubscription_changelist",
        "seats_invitation_changelist",
        "seats_logentry_changelist",
    ],
)
def test_the_seat_lists_open_and_nothing_can_be_added(staff_client, account, name):
    start(account, "rita@example.com")

    response = staff_client.get(reverse(f"admin:{name}"))

    assert response.status_code == 200
    add_url = reverse(f"admin:{name.removesuffix('changelist')}add")
    assert f'href="{add_url}"' not in response.content.decode()


def test_the_log_exports_the_filtered_entries_as_csv(staff_client, account):
    start(account, "rita@example.com")
    start(SeatAccountFactory(), "tom@example.com")

    response = staff_client.get(
        reverse("admin:seats_logentry_export"), {"seat_account__id__exact": account.pk}
    )

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["rita@example.com", "rita@example.com"]


def test_the_customer_page_lists_its_multi_user_accounts(staff_client, account):
    customer = account.subscription.customer

    response = staff_client.get(reverse("admin:subscriptions_customer_change", args=[customer.pk]))

    html = response.content.decode()
    assert reverse("admin:seats_seataccount_change", args=[account.pk]) in html
    assert SeatAccount.objects.count() == 1


def test_the_add_user_field_searches_users_through_the_admin_autocomplete(staff_client):
    UserFactory(email="rita@example.com")

    response = staff_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "seats",
            "model_name": "usersubscription",
            "field_name": "user",
            "term": "rita",
        },
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["rita@example.com"]
