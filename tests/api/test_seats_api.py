"""Multi-user seats through the API."""

from __future__ import annotations

import pytest

from seats.models import EmailDomain, Invitation, IPRange, UserSubscription
from seats.services.seats import user_subscription_start
from tests.api.conftest import problem
from tests.seats.factories import SeatAccountFactory, UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def seats_url(world) -> str:
    return f"/api/v1/subscriptions/{world.subscription.public_id}/seats"


def test_the_seat_account_shows_seats_and_settings(api, world):
    body = api.get(seats_url(world)).json()
    assert body["maximum_users"] == 5
    assert (body["seats_taken"], body["seats_free"]) == (0, 5)
    assert body["invitation_validity_days"] == 14


def test_a_single_user_subscription_has_no_seats(api, travel):
    subscription = SubscriptionFactory()
    problem(api.get(f"/api/v1/subscriptions/{subscription.public_id}/seats"), 404,
            "not_multi_user")  # fmt: skip


def test_invite_list_revoke_and_resend_an_invitation(api, world, mailoutbox):
    response = api.post(seats_url(world) + "/invitations", {"email": "Ivy@Example.com"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ivy@example.com"
    assert body["status"] == "pending"
    assert "code" not in body
    listed = api.get(seats_url(world) + "/invitations?status=pending").json()["items"]
    assert [i["id"] for i in listed] == [body["id"]]
    url = f"{seats_url(world)}/invitations/{body['id']}"
    assert api.post(url + "/resend").json()["status"] == "pending"
    assert api.post(url + "/revoke").json()["status"] == "revoked"
    problem(api.post(url + "/revoke"), 409, "invitation_revoked")


def test_a_bad_address_is_422_and_invites_nobody(api, world):
    body = problem(api.post(seats_url(world) + "/invitations", {"email": "nope"}), 422,
                   "invalid_request")  # fmt: skip
    assert body["field"] == "body.email"
    assert not Invitation.objects.exists()


def test_add_an_existing_user_then_cancel_undo_end_and_reactivate(api, world):
    response = api.post(seats_url(world) + "/users", {"email": "rita@example.com"})
    assert response.status_code == 201, response.content
    started = response.json()
    assert len(started) == 2  # one per product
    assert {row["state"] for row in started} == {"active"}
    one = f"/api/v1/user-subscriptions/{started[0]['id']}"
    assert api.get(one).json()["user_email"] == "rita@example.com"
    cancelled = api.post(one + "/cancel", {"mode": "period_end"}).json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["ends_at"].startswith("2027-02-01T00:00:00+01:00")
    assert api.post(one + "/undo-cancellation").json()["state"] == "active"
    assert api.post(one + "/cancel", {"mode": "now"}).json()["state"] == "ended"
    reactivated = api.post(one + "/reactivate")
    assert reactivated.status_code == 201
    assert reactivated.json()["state"] == "active"
    assert reactivated.json()["id"] != started[0]["id"]


def test_adding_someone_without_an_account_is_422(api, world):
    body = problem(api.post(seats_url(world) + "/users", {"email": "x@example.com"}), 422,
                   "unknown_user")  # fmt: skip
    assert body["field"] == "body.email"
    assert not UserSubscription.objects.filter(seat_account=world.account).exists()


def test_a_full_account_refuses_with_seat_limit_reached(api, travel):
    account = SeatAccountFactory(maximum_users=1)
    url = f"/api/v1/subscriptions/{account.subscription.public_id}/seats/invitations"
    assert api.post(url, {"email": "a@example.com"}).status_code == 201
    body = problem(api.post(url, {"email": "b@example.com"}), 409, "seat_limit_reached")
    assert body["detail"] == "All seats of this subscription are taken."
    assert Invitation.objects.count() == 1


def test_users_list_filters_and_costs_a_fixed_number_of_queries(
    api, world, django_assert_num_queries
):
    for _ in range(2):
        user_subscription_start(account=world.account, user=UserFactory(), via="staff")
    api.get(seats_url(world))  # the account exists, the key's last use is recorded
    with django_assert_num_queries(7):
        items = api.get(seats_url(world) + "/users").json()["items"]
    assert len(items) == 4
    for _ in range(2):
        user_subscription_start(account=world.account, user=UserFactory(), via="staff")
    with django_assert_num_queries(7):
        items = api.get(seats_url(world) + "/users?state=active").json()["items"]
    assert len(items) == 8
    product = items[0]["product"]
    assert {i["product"] for i in api.get(seats_url(world) + f"/users?product={product}")
            .json()["items"]} == {product}  # fmt: skip


def test_domains_and_ip_ranges(api, world):
    assert api.post(seats_url(world) + "/domains", {"domain": "Uni.example"}).status_code == 201
    assert [d["domain"] for d in api.get(seats_url(world) + "/domains").json()] == ["uni.example"]
    body = problem(api.post(seats_url(world) + "/domains", {"domain": "gmail.com"}), 422,
                   "invalid")  # fmt: skip
    assert body["field"] == "body.domain"
    assert api.delete(seats_url(world) + "/domains/uni.example").status_code == 204
    assert not EmailDomain.objects.exists()
    assert api.post(seats_url(world) + "/ip-ranges", {"cidr": "203.0.113.7/24"}).status_code == 201
    assert api.get(seats_url(world) + "/ip-ranges").json()[0]["cidr"] == "203.0.113.0/24"
    problem(api.post(seats_url(world) + "/ip-ranges", {"cidr": "10.0.0.0/2"}), 422, "invalid")
    assert api.delete(seats_url(world) + "/ip-ranges?cidr=203.0.113.0/24").status_code == 204
    assert not IPRange.objects.exists()
    problem(api.delete(seats_url(world) + "/ip-ranges?cidr=203.0.113.0/24"), 404, "not_found")


def test_settings_change_and_refuse_out_of_range(api, world):
    url = seats_url(world) + "/settings"
    body = api.patch(url, {"invitation_validity_days": 30, "users_may_cancel": True}).json()
    assert (body["invitation_validity_days"], body["users_may_cancel"]) == (30, True)
    refused = problem(api.patch(url, {"invitation_validity_days": 0}), 422, "invalid")
    assert refused["field"] == "body.invitation_validity_days"
    world.account.refresh_from_db()
    assert world.account.invitation_validity_days == 30


def test_the_log_lists_starts_and_ends(api, world):
    started = user_subscription_start(account=world.account, user=world.user, via="staff")
    api.post(f"/api/v1/user-subscriptions/{started[0].public_id}/cancel", {"mode": "now"})
    entries = api.get(seats_url(world) + "/log").json()["items"]
    assert [e["action"] for e in entries] == ["ended", "started", "started"]
    ended = api.get(seats_url(world) + "/log?action=ended").json()["items"]
    assert [(e["user_email"], e["via"]) for e in ended] == [("rita@example.com", "cancelled_now")]


def test_another_customers_subscription_ids_are_just_ids(api, travel):
    """An API key is the merchant's: every customer's seats are reachable, unknown ids
    are 404."""
    problem(api.get("/api/v1/user-subscriptions/00000000-0000-0000-0000-000000000000"), 404,
            "not_found")  # fmt: skip
    assert CustomerFactory()
