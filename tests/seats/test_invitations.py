"""Invitations: create, refuse, the e-mail, revoke, re-send, redeem, expire."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from notifications.events import EventType, MailType
from notifications.models import Event
from seats.codes import code_hash
from seats.exceptions import InvitationInvalid, SeatError, SeatsFull
from seats.models import Invitation, LogEntry, UserSubscription
from seats.services.invitations import (
    invitation_create,
    invitation_redeem,
    invitation_resend,
    invitation_revoke,
    invitations_expire_due,
)
from seats.services.seats import seats_taken, user_subscription_start
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory, activate_mail_templates

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        UserSubscription.objects.count(),
        Invitation.objects.count(),
        sorted(Invitation.objects.values_list("status", flat=True)),
        LogEntry.objects.count(),
        Event.objects.count(),
    )


@pytest.fixture
def account():
    return SeatAccountFactory()


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


# --- create ------------------------------------------------------------------------


def test_create_stores_only_the_hash_and_holds_a_seat(account, staff):
    invitation, code = invitation_create(
        account=account, email=" Rita@Example.com ", first_name="Rita", actor=staff, now=NOW
    )

    assert invitation.email == "rita@example.com"
    assert invitation.code_hash == code_hash(code)
    assert code not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    assert invitation.expires_at == NOW + timedelta(days=14)
    assert invitation.invited_by == staff
    assert seats_taken(account=account, now=NOW) == 1
    event = Event.objects.get(type=EventType.INVITATION_CREATED)
    assert event.subject_id == str(invitation.public_id)
    assert event.mails[0]["template"] == MailType.USER_INVITED
    assert code in event.mails[0]["context"]["invitation_url"]


def test_create_uses_the_accounts_validity(staff):
    account = SeatAccountFactory(invitation_validity_days=3)

    invitation, _code = invitation_create(account=account, email="a@example.com", now=NOW)

    assert invitation.expires_at == NOW + timedelta(days=3)


def test_the_invited_email_is_sent_in_the_invitees_language_with_the_code_in_the_link(
    django_capture_on_commit_callbacks,
):
    activate_mail_templates()
    account = SeatAccountFactory()

    with django_capture_on_commit_callbacks(execute=True):
        _invitation, code = invitation_create(
            account=account, email="rita@example.com", first_name="Rita", language="de", now=NOW
        )

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rita@example.com"]
    assert f"https://news.example/join?code={code}" in message.body
    assert "29. Januar 2027" in message.body  # German date: expires 14 days after NOW
    assert "Rita" in message.body


def test_without_an_offer_url_the_link_goes_to_the_join_page(django_capture_on_commit_callbacks):
    activate_mail_templates()
    account = SeatAccountFactory(subscription__offer__invitation_url="")

    with django_capture_on_commit_callbacks(execute=True):
        _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)

    assert f"http://127.0.0.1:8000/join/{code}/" in mail.outbox[0].body


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "rita@@example.com"])
def test_create_refuses_a_bad_email_and_changes_nothing(account, email):
    before = _snapshot()

    with pytest.raises(SeatError):
        invitation_create(account=account, email=email, now=NOW)

    assert _snapshot() == before


def test_create_refuses_a_second_pending_invitation_for_the_same_address(account):
    invitation_create(account=account, email="rita@example.com", now=NOW)
    before = _snapshot()

    with pytest.raises(SeatError, match="already been invited"):
        invitation_create(account=account, email="RITA@example.com", now=NOW)

    assert _snapshot() == before


def test_create_refuses_the_main_user(account):
    before = _snapshot()

    with pytest.raises(SeatError, match="main user"):
        invitation_create(
            account=account, email=account.subscription.customer.main_user.email, now=NOW
        )

    assert _snapshot() == before


def test_create_refuses_someone_who_already_has_access(account):
    user = UserFactory(email="rita@example.com")
    user_subscription_start(account=account, user=user, via="staff", now=NOW)
    before = _snapshot()

    with pytest.raises(SeatError, match="already a user"):
        invitation_create(account=account, email="rita@example.com", now=NOW)

    assert _snapshot() == before


def test_create_refuses_when_pending_invitations_fill_the_account():
    account = SeatAccountFactory(maximum_users=2)
    invitation_create(account=account, email="one@example.com", now=NOW)
    invitation_create(account=account, email="two@example.com", now=NOW)
    before = _snapshot()

    with pytest.raises(SeatsFull):
        invitation_create(account=account, email="three@example.com", now=NOW)

    assert _snapshot() == before


def test_an_address_whose_invitation_lapsed_can_be_invited_again(account):
    old, _code = invitation_create(account=account, email="rita@example.com", now=NOW)
    later = NOW + timedelta(days=15)

    new, _code = invitation_create(account=account, email="rita@example.com", now=later)

    old.refresh_from_db()
    assert (old.status, new.status) == ("expired", "pending")


# --- redeem ------------------------------------------------------------------------


def test_redeem_turns_the_held_seat_into_user_subscriptions_per_product(account, staff):
    invitation, code = invitation_create(
        account=account, email="rita@example.com", actor=staff, now=NOW
    )
    rita = UserFactory(email="rita@example.com")

    started = invitation_redeem(code=code, user=rita, now=NOW + timedelta(hours=1))

    assert len(started) == 2
    invitation.refresh_from_db()
    assert (invitation.status, invitation.redeemed_by, invitation.redeemed_at) == (
        "redeemed",
        rita,
        NOW + timedelta(hours=1),
    )
    assert seats_taken(account=account, now=NOW) == 1
    entries = LogEntry.objects.filter(user=rita)
    assert (
        sorted((e.action, e.via, e.actor_id) for e in entries)
        == [("started", "invitation", rita.pk)] * 2
    )
    created = Event.objects.filter(type=EventType.USER_SUBSCRIPTION_CREATED)
    assert created.count() == 2
    assert {e.payload["invitation"] for e in created} == {str(invitation.public_id)}


def test_redeem_works_when_the_account_is_otherwise_full():
    account = SeatAccountFactory(maximum_users=1)
    _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)

    started = invitation_redeem(code=code, user=UserFactory(), now=NOW)

    assert len(started) == 2
    assert seats_taken(account=account, now=NOW) == 1


def test_redeem_accepts_codes_typed_by_hand(account):
    _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)

    started = invitation_redeem(code=code.lower().replace("-", " "), user=UserFactory(), now=NOW)

    assert len(started) == 2


def test_redeem_by_a_user_with_another_address_is_allowed(account):
    invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    other = UserFactory(email="rita.private@example.org")

    invitation_redeem(code=code, user=other, now=NOW)

    invitation.refresh_from_db()
    assert invitation.redeemed_by == other


def test_redeem_closes_the_invitation_pending_for_the_redeemers_own_address():
    # Invited at work and at home; redeemed the work code while signed in at home: the
    # home invitation must not keep a second seat.
    account = SeatAccountFactory(maximum_users=3)
    _work, code = invitation_create(account=account, email="rita@work.example", now=NOW)
    home, _home_code = invitation_create(account=account, email="rita@home.example", now=NOW)
    rita = UserFactory(email="Rita@Home.example")

    invitation_redeem(code=code, user=rita, now=NOW)

    home.refresh_from_db()
    assert (home.status, home.redeemed_by) == (Invitation.Status.REDEEMED, rita)
    assert seats_taken(account=account, now=NOW) == 1


def test_a_users_own_pending_invitation_does_not_make_the_account_full_for_them():
    account = SeatAccountFactory(maximum_users=1)
    invitation, _code = invitation_create(account=account, email="rita@example.com", now=NOW)
    rita = UserFactory(email="rita@example.com")

    started = user_subscription_start(account=account, user=rita, via="domain", now=NOW)

    invitation.refresh_from_db()
    assert len(started) == 2
    assert invitation.status == Invitation.Status.REDEEMED
    assert seats_taken(account=account, now=NOW) == 1


def test_a_refused_start_leaves_the_users_pending_invitation_alone(account):
    invitation, _code = invitation_create(account=account, email="rita@example.com", now=NOW)
    rita = UserFactory(email="rita@example.com", is_active=False)
    before = _snapshot()

    with pytest.raises(SeatError):
        user_subscription_start(account=account, user=rita, via="domain", now=NOW)

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    assert _snapshot() == before


def test_redeem_refuses_an_unknown_code(account):
    before = _snapshot()

    with pytest.raises(InvitationInvalid) as refused:
        invitation_redeem(code="AAAA-BBBB", user=UserFactory(), now=NOW)

    assert refused.value.reason == "unknown"
    assert _snapshot() == before


def test_redeem_refuses_a_code_used_twice(account):
    _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    invitation_redeem(code=code, user=UserFactory(), now=NOW)
    before = _snapshot()

    with pytest.raises(InvitationInvalid) as refused:
        invitation_redeem(code=code, user=UserFactory(), now=NOW)

    assert refused.value.reason == "redeemed"
    assert _snapshot() == before


def test_redeem_refuses_an_expired_code(account):
    _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    before = _snapshot()

    user = UserFactory()
    with (
        time_machine.travel(NOW + timedelta(days=14, seconds=1), tick=False),
        pytest.raises(InvitationInvalid) as refused,
    ):
        invitation_redeem(code=code, user=user)

    assert refused.value.reason == "expired"
    assert _snapshot() == before


def test_redeem_refuses_a_code_marked_expired(account):
    _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    assert invitations_expire_due(now=NOW + timedelta(days=15)) == 1
    before = _snapshot()

    with pytest.raises(InvitationInvalid) as refused:
        invitation_redeem(code=code, user=UserFactory(), now=NOW)

    assert refused.value.reason == "expired"
    assert _snapshot() == before


def test_redeem_refuses_a_revoked_code(account):
    invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    invitation_revoke(invitation=invitation, now=NOW)
    before = _snapshot()

    with pytest.raises(InvitationInvalid) as refused:
        invitation_redeem(code=code, user=UserFactory(), now=NOW)

    assert refused.value.reason == "revoked"
    assert _snapshot() == before


def test_redeem_refuses_the_main_user_and_leaves_the_invitation_pending(account):
    invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    before = _snapshot()

    with pytest.raises(SeatError, match="main user"):
        invitation_redeem(code=code, user=account.subscription.customer.main_user, now=NOW)

    assert _snapshot() == before
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_redeem_refuses_a_user_who_already_has_access(account):
    user = UserFactory()
    user_subscription_start(account=account, user=user, via="staff", now=NOW)
    _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    before = _snapshot()

    with pytest.raises(SeatError, match="already has access"):
        invitation_redeem(code=code, user=user, now=NOW)

    assert _snapshot() == before


# --- revoke, resend, expire ----------------------------------------------------------


def test_revoke_frees_the_seat(account):
    invitation, _code = invitation_create(account=account, email="rita@example.com", now=NOW)

    invitation_revoke(invitation=invitation, now=NOW)

    assert seats_taken(account=account, now=NOW) == 0


def test_revoke_refuses_a_redeemed_invitation(account):
    invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    invitation_redeem(code=code, user=UserFactory(), now=NOW)
    before = _snapshot()

    with pytest.raises(InvitationInvalid):
        invitation_revoke(invitation=invitation, now=NOW)

    assert _snapshot() == before


def test_resend_gives_a_new_code_and_expiry_and_the_old_code_stops_working(
    account, django_capture_on_commit_callbacks
):
    activate_mail_templates()
    invitation, old_code = invitation_create(account=account, email="rita@example.com", now=NOW)
    later = NOW + timedelta(days=2)

    with django_capture_on_commit_callbacks(execute=True):
        invitation, new_code = invitation_resend(invitation=invitation, now=later)

    assert new_code != old_code
    assert invitation.expires_at == later + timedelta(days=14)
    assert len(mail.outbox) == 1  # the first e-mail's task never ran: no commit
    assert new_code in mail.outbox[0].body
    assert old_code not in mail.outbox[0].body
    with pytest.raises(InvitationInvalid) as refused:
        invitation_redeem(code=old_code, user=UserFactory(), now=later)
    assert refused.value.reason == "unknown"
    assert len(invitation_redeem(code=new_code, user=UserFactory(), now=later)) == 2


def test_resend_of_an_expired_invitation_takes_a_seat_again():
    account = SeatAccountFactory(maximum_users=1)
    invitation, _code = invitation_create(account=account, email="rita@example.com", now=NOW)
    later = NOW + timedelta(days=20)
    user_subscription_start(account=account, user=UserFactory(), via="staff", now=later)
    before = _snapshot()

    with pytest.raises(SeatsFull):
        invitation_resend(invitation=invitation, now=later)

    assert _snapshot() == before


def test_expire_due_marks_only_lapsed_pending_invitations(account):
    lapsed, _c = invitation_create(account=account, email="a@example.com", now=NOW)
    fresh, _c = invitation_create(
        account=account, email="b@example.com", now=NOW + timedelta(days=5)
    )

    assert invitations_expire_due(now=NOW + timedelta(days=14)) == 1
    assert invitations_expire_due(now=NOW + timedelta(days=14)) == 0

    lapsed.refresh_from_db()
    fresh.refresh_from_db()
    assert (lapsed.status, fresh.status) == ("expired", "pending")


def test_create_refuses_when_the_subscription_has_ended():
    account = SeatAccountFactory(subscription__ended=True)
    before = _snapshot()

    with pytest.raises(SeatError, match="has ended"):
        invitation_create(account=account, email="rita@example.com", now=NOW)

    assert _snapshot() == before
