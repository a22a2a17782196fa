"""A main user shares a multi-user subscription: invites a user, who opens the link from
the e-mail, registers and gets access; uploads a CSV list with a bad row, sees the error
with its line number, fixes the file and imports it; ends a user's access and finds it in
the subscription log."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from seats.models import UserSubscription
from tests.seats.factories import SeatAccountFactory, activate_mail_templates

pytestmark = pytest.mark.browser

MAIN_PASSWORD = "pw-user-1"  # the factory's
INVITEE_PASSWORD = "e2e-invitee-pw-1"


@pytest.fixture
def account(transactional_db, staff_roles):
    activate_mail_templates()
    account = SeatAccountFactory()
    main = account.subscription.customer.main_user
    main.email, main.first_name = "maria.main@example.com", "Maria"
    main.save()
    return account


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/portal/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def invitation_code(message) -> str:
    match = re.search(r"/join/([A-Za-z0-9_-]+)/|[?&]code=([A-Za-z0-9_-]+)", message.body)
    assert match, message.body
    return match[1] or match[2]


def test_main_user_invites_uploads_and_ends_access(page: Page, screenshot, account, live_server):
    seat_list = f"/portal/seats/{account.public_id}/"
    log_in(page, "maria.main@example.com", MAIN_PASSWORD)

    # Invite one user.
    page.goto(seat_list)
    expect(page.get_by_text("0 of 4")).to_be_visible()
    page.get_by_role("link", name="Invite a user").click()
    page.get_by_label("E-mail address").fill("ivy.ink@example.com")
    page.get_by_label("First name").fill("Ivy")
    page.get_by_label("Last name").fill("Ink")
    screenshot("01-invite")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("ivy.ink@example.com is invited")).to_be_visible()
    expect(page.get_by_text("1 of 4")).to_be_visible()
    screenshot("02-list-with-invitation")

    # The invitee opens the link from the e-mail, registers and gets access.
    invited = [m for m in mail.outbox if m.to == ["ivy.ink@example.com"]]
    assert len(invited) == 1
    code = invitation_code(invited[0])
    invitee = page.context.browser.new_context(base_url=live_server.url, locale="en-GB")
    join = invitee.new_page()
    join.goto(f"/join/{code}/")
    expect(join.get_by_label("E-mail address")).to_have_value("ivy.ink@example.com")
    join.get_by_label("Password").fill(INVITEE_PASSWORD)
    join.get_by_role("button", name="Create account and accept").click()
    expect(join.get_by_text("You now have access to")).to_be_visible()
    invitee.close()
    assert UserSubscription.objects.filter(user__email="ivy.ink@example.com").count() == 2

    # Upload a list with a bad row: the error names its line; nothing is imported.
    page.goto(f"{seat_list}upload/")
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "team.csv",
                "mimeType": "text/csv",
                "buffer": b"email;first_name\nada@example.com;Ada\nbob-at-example.com;Bob\n",
            }
        ]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("Line 3:")).to_be_visible()
    screenshot("03-upload-errors")
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "team.csv",
                "mimeType": "text/csv",
                "buffer": b"email;first_name\nada@example.com;Ada\nbob@example.com;Bob\n",
            }
        ]
    )
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import 2 users").click()
    expect(page.get_by_text("2 users are invited.")).to_be_visible()
    expect(page.get_by_text("3 of 4")).to_be_visible()

    # End Ivy's access to one product now; the log shows it.
    row = page.locator(".seat-row", has_text="ivy.ink@example.com")
    row.get_by_role("button", name="End now").first.click()
    expect(page.get_by_text("has ended")).to_be_visible()
    screenshot("04-list")
    page.get_by_role("link", name="Log", exact=True).click()
    ended = page.locator("tbody tr", has_text="Ended")
    expect(ended).to_have_count(1)
    expect(ended).to_contain_text("ivy.ink@example.com")
    expect(ended).to_contain_text("maria.main@example.com")
    screenshot("05-log")

    # The list on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_text("ivy.ink@example.com")).to_be_visible()
    screenshot("06-list-phone")
