"""The seat list and the log answer with the same number of queries at 10 and at 1,000
seats (one page of 50 either way)."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from seats.models import Invitation, LogEntry, SeatAccount, UserSubscription
from seats.services.seats import products_for
from subscriptions.models import User
from tests.seats.factories import NOW, PERIOD_END, SeatAccountFactory

pytestmark = pytest.mark.django_db

# session, user, customer, seat account; the user subscriptions' totals (seats held and
# users listed), invitations holding a seat; users paged, their user subscriptions;
# invitations counted and paged.
SEAT_LIST_QUERIES = 10
# session, user, customer, seat account; the product filter's choices; entries counted
# and paged.
LOG_QUERIES = 7


def fill(account: SeatAccount, seats: int) -> None:
    """`seats` users with one user subscription per product and a start in the log, and
    a pending invitation per ten users."""
    users = User.objects.bulk_create(
        User(email=f"user{i:05}@bulk.example", first_name="Bulk", last_name=str(i))
        for i in range(seats)
    )
    accesses = UserSubscription.objects.bulk_create(
        UserSubscription(seat_account=account, user=user, product=product, started_at=NOW)
        for user in users
        for product in products_for(account)
    )
    LogEntry.objects.bulk_create(
        LogEntry(
            seat_account=account,
            user_subscription=access,
            user_id=access.user_id,
            product_id=access.product_id,
            action="started",
            at=NOW,
        )
        for access in accesses
    )
    Invitation.objects.bulk_create(
        Invitation(
            seat_account=account,
            email=f"invited{i:05}@bulk.example",
            code_hash=f"{account.pk:08}{i:056}",
            expires_at=PERIOD_END,
        )
        for i in range(seats // 10)
    )


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner_client(client):
    def make(seats: int):
        account = SeatAccountFactory(maximum_users=None)
        fill(account, seats)
        client.force_login(account.subscription.customer.main_user)
        # A first request of the session does the once-per-session work (activation by
        # IP range); the measured requests are the steady state.
        client.get(reverse("seats:my_access"))
        return client, account

    return make


@pytest.mark.parametrize("seats", [10, 1000])
def test_the_seat_list_runs_a_fixed_number_of_queries(
    owner_client, seats, django_assert_num_queries
):
    client, account = owner_client(seats)
    url = reverse("seats:seat_list", args=[account.public_id])

    with django_assert_num_queries(SEAT_LIST_QUERIES):
        response = client.get(url, {"page": 2 if seats > 50 else 1})

    listing = response.context["listing"]
    assert len(listing.rows) == min(seats, 50)
    assert all(len(row.user_subscriptions) == 2 for row in listing.rows)
    assert listing.page.paginator.count == seats
    assert f"{seats + seats // 10} seats used" in response.content.decode()


@pytest.mark.parametrize("seats", [10, 1000])
def test_a_seat_list_search_runs_a_fixed_number_of_queries(
    owner_client, seats, django_assert_num_queries
):
    client, account = owner_client(seats)
    url = reverse("seats:seat_list", args=[account.public_id])

    # Filtered by a user state, the list shows no invitations (two fewer); a search that
    # finds less than a page needs no count of its own.
    with django_assert_num_queries(SEAT_LIST_QUERIES - 2):
        response = client.get(url, {"q": "user0000", "state": "active"})

    assert [row.user.email for row in response.context["listing"].rows] == [
        f"user0000{i}@bulk.example" for i in range(10)
    ]


@pytest.mark.parametrize("seats", [10, 1000])
def test_the_log_runs_a_fixed_number_of_queries(owner_client, seats, django_assert_num_queries):
    client, account = owner_client(seats)
    url = reverse("seats:log", args=[account.public_id])

    with django_assert_num_queries(LOG_QUERIES):
        response = client.get(url, {"page": 3 if seats > 50 else 1})

    page = response.context["page"]
    assert page.paginator.count == 2 * seats
    assert len(page.object_list) == min(2 * seats, 50)
