"""An Administrator's first login: the password, then the enrolment page (QR code and
secret), a code computed from that secret as an authenticator app does, and the
dashboard; the next login asks for the code. A catalog manager logs in without one."""

import base64
import time

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from subscriptions.models import User
from subscriptions.roles import ADMINISTRATOR

PASSWORD = "e2e-admin-pw-1"

pytestmark = pytest.mark.browser


@pytest.fixture
def administrator(staff_roles) -> User:
    user = User.objects.create_user(
        email="ada.admin@example.com", password=PASSWORD, first_name="Ada", is_staff=True
    )
    user.groups.add(Group.objects.get(name=ADMINISTRATOR))
    return user


def _code(secret: str, *, offset_steps: int = 0) -> str:
    """What an authenticator app shows for this secret (30 s steps, 6 digits)."""
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * offset_steps
    return f"{totp.token():06d}"


def _log_in(page: Page, email: str, code: str = "") -> None:
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if code:
        page.get_by_label("Authenticator code").fill(code)
    page.get_by_role("button", name="Log in").click()


def test_an_administrator_enrols_and_then_logs_in_with_the_code(page, administrator, screenshot):
    _log_in(page, administrator.email)
    expect(page.get_by_text("Your role needs two-factor login")).to_be_visible()
    expect(page.get_by_role("img", name="QR code of your two-factor secret")).to_be_visible()
    screenshot("enrol")
    secret = page.locator("code").inner_text()

    page.get_by_label("Code from your app").fill(_code(secret))
    page.get_by_role("button", name="Turn on two-factor login").click()
    expect(page.get_by_role("heading", name="Merchant backend")).to_be_visible()
    expect(page.get_by_text("Two-factor login is on for your account.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    _log_in(page, administrator.email)  # no code
    expect(page.get_by_text("Enter the current 6-digit code")).to_be_visible()
    screenshot("code-missing")
    # The next step's code: the one just used to enrol is not accepted twice.
    _log_in(page, administrator.email, _code(secret, offset_steps=1))
    expect(page.get_by_role("heading", name="Merchant backend")).to_be_visible()
