"""Two-factor login for staff (django-otp TOTP, security.otp and security.admin_site):
Administrators must enrol and give a code at every login; other staff may opt in; a
wrong code is refused and counted like a wrong password; operators reset lost devices."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from security.demo import DEMO_SECRET, demo_code, seed_demo_device
from security.models import Failure
from subscriptions.roles import ADMINISTRATOR, CATALOG_MANAGER
from tests.security.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
ENROL = reverse("admin:security_otp_enrol")
INDEX = reverse("admin:index")
USERS = reverse("admin:subscriptions_user_changelist")


def code_of(device: TOTPDevice) -> str:
    """The device's current code, computed from its key as the app does."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def _staff(django_user_model, email: str, role: str):
    user = django_user_model.objects.create_user(email=email, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def administrator(django_user_model):
    return _staff(django_user_model, "ada@kontor.example", ADMINISTRATOR)


@pytest.fixture
def catalog_manager(django_user_model):
    return _staff(django_user_model, "carl@kontor.example", CATALOG_MANAGER)


def _login(client, user, token: str = ""):
    data = {"username": user.email, "password": PASSWORD, "otp_token": token, "next": INDEX}
    return client.post(LOGIN, data)


def _device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def test_an_administrator_without_a_device_is_sent_to_enrol_and_can_do_nothing_else(
    client, administrator
):
    assert _login(client, administrator)["Location"] == INDEX

    assert client.get(INDEX)["Location"] == f"{LOGIN}?next={INDEX}"
    assert client.get(USERS)["Location"] == f"{LOGIN}?next={USERS}"
    assert client.get(LOGIN)["Location"] == ENROL
    page = client.get(ENROL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your role needs two-factor login" in html
    assert 'src="data:image/svg+xml;base64,' in html
    assert 'id="nav-sidebar"' not in html  # no app list before the second factor
    device = TOTPDevice.objects.get(user=administrator)
    assert not device.confirmed
    assert device.config_url.startswith("otpauth://totp/")


def test_a_superuser_in_no_group_must_give_a_code_too(client, django_user_model):
    """A superuser holds every permission without being an Administrator (no group):
    a password alone used to open the whole admin."""
    root = django_user_model.objects.create_superuser(
        email="root@kontor.example", password=PASSWORD
    )

    assert _login(client, root)["Location"] == INDEX
    assert client.get(USERS)["Location"] == f"{LOGIN}?next={USERS}"
    assert client.get(LOGIN)["Location"] == ENROL
    assert not TOTPDevice.objects.filter(user=root, confirmed=True).exists()


def test_enrolling_with_a_wrong_code_is_refused_and_confirms_nothing(client, administrator):
    _login(client, administrator)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=administrator)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"

    response = client.post(ENROL, {"token": wrong})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=administrator, confirmed=True).exists()
    assert client.get(INDEX).status_code == 302
    assert list(Failure.objects.values_list("kind", flat=True)) == ["otp"]


def test_enrolling_with_the_apps_code_opens_the_admin(client, administrator):
    _login(client, administrator)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=administrator)

    response = client.post(ENROL, {"token": code_of(device)})

    assert response["Location"] == INDEX
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(INDEX).status_code == 200
    assert client.get(USERS).status_code == 200
    assert client.get(ENROL).status_code == 200  # now says it is on; no secret shown again
    assert "otpauth" not in client.get(ENROL).content.decode()
    assert Failure.objects.count() == 0


@pytest.mark.parametrize("token", ["", "000000x", "wrong"])
def test_an_administrator_with_a_device_needs_the_right_code(client, administrator, token):
    _device(administrator)

    response = _login(client, administrator, token)

    assert response.status_code == 200
    assert "Enter the current 6-digit code of your authenticator app" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert list(Failure.objects.values_list("kind", flat=True)) == ["otp"]


def test_a_code_off_by_one_is_refused(client, administrator):
    device = _device(administrator)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"

    assert _login(client, administrator, wrong).status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_right_code_from_the_device_leads_to_the_admin_index(client, administrator):
    device = _device(administrator)

    response = _login(client, administrator, code_of(device))

    assert response["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    assert client.get(USERS).status_code == 200
    assert Failure.objects.count() == 0


def test_wrong_codes_count_towards_the_accounts_limit(client, administrator, settings):
    settings.KONTOR_THROTTLE_ACCOUNT = (3, 3600)
    device = _device(administrator)
    for _ in range(3):
        assert _login(client, administrator, "123456x").status_code == 200

    response = _login(client, administrator, code_of(device))

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_an_administrator_signed_in_at_the_portal_has_no_admin_without_the_code(
    client, administrator
):
    _device(administrator)
    client.post(
        reverse("subscriptions:login"), {"username": administrator.email, "password": PASSWORD}
    )
    assert "_auth_user_id" in client.session

    assert client.get(INDEX).status_code == 302
    login_page = client.get(LOGIN)
    assert login_page.status_code == 200
    assert 'name="otp_token"' in login_page.content.decode()


def test_other_staff_log_in_without_a_code_and_may_opt_in(client, catalog_manager):
    assert _login(client, catalog_manager)["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    page = client.get(ENROL)
    assert "Your role needs two-factor login" not in page.content.decode()
    device = TOTPDevice.objects.get(user=catalog_manager)

    assert client.post(ENROL, {"token": code_of(device)})["Location"] == INDEX
    client.post(reverse("admin:logout"))

    assert _login(client, catalog_manager).status_code == 200  # now the code is needed
    assert "_auth_user_id" not in client.session


def test_the_login_page_offers_the_code_field(client):
    html = client.get(LOGIN).content.decode()

    assert 'name="otp_token"' in html
    assert 'autocomplete="one-time-code"' in html


def test_an_operator_resets_a_lost_device_and_the_administrator_enrols_again(client, administrator):
    _device(administrator)
    out = StringIO()

    call_command("otp_reset", "ADA@kontor.example", stdout=out)

    assert "Removed 1 two-factor device(s) of ada@kontor.example." in out.getvalue()
    assert not TOTPDevice.objects.filter(user=administrator).exists()
    _login(client, administrator)
    assert client.get(LOGIN)["Location"] == ENROL


def test_the_demo_administrators_device_accepts_the_printed_code(client, administrator):
    assert seed_demo_device(email=administrator.email)["created"] == 1
    assert seed_demo_device(email=administrator.email)["unchanged"] == 1
    out = StringIO()
    call_command("otp_demo_code", stdout=out)
    printed = out.getvalue().splitlines()[0]

    assert printed == demo_code()
    assert DEMO_SECRET in out.getvalue()
    assert _login(client, administrator, printed)["Location"] == INDEX
    assert client.get(INDEX).status_code == 200


def test_the_device_admin_shows_no_secrets(client, administrator, otp_force_login, settings):
    device = _device(administrator)
    otp_force_login(client, administrator)

    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))

    assert page.status_code == 200
    assert device.key not in page.content.decode()
    assert settings.OTP_ADMIN_HIDE_SENSITIVE_DATA is True


def test_staff_pages_outside_the_admin_need_the_second_factor_too(client, administrator):
    """The contract price chart is a staff page outside the admin site: a session from
    the portal's password-only login used to open it."""
    from tests.factories import CorporateContractFactory

    device = _device(administrator)
    chart = reverse("billing:contract-price-chart", args=[CorporateContractFactory().pk])
    portal_login = {"username": administrator.email, "password": PASSWORD}
    client.post(reverse("subscriptions:login"), portal_login)

    refused = client.get(chart)
    _login(client, administrator, code_of(device))
    allowed = client.get(chart)

    assert refused.status_code == 302
    assert refused["Location"].startswith(f"{LOGIN}?next=")
    assert (allowed.status_code, allowed["Content-Type"]) == (200, "image/svg+xml")


def test_the_admins_password_change_counts_a_wrong_old_password(client, administrator):
    device = _device(administrator)
    _login(client, administrator, code_of(device))
    change = {
        "old_password": "guess",
        "new_password1": "N3w-pw-long-1",
        "new_password2": "N3w-pw-long-1",
    }

    response = client.post(reverse("admin:password_change"), change)

    assert response.status_code == 200
    assert Failure.objects.filter(kind=Failure.Kind.LOGIN).count() == 1
    administrator.refresh_from_db()
    assert administrator.check_password(PASSWORD)


def test_staff_made_administrator_give_a_code_from_their_next_admin_page(client, catalog_manager):
    """The requirement used to be fixed at login: a session promoted later kept the
    whole admin without a code until it ended."""
    assert _login(client, catalog_manager)["Location"] == INDEX
    assert client.get(INDEX).status_code == 200

    catalog_manager.groups.add(Group.objects.get(name=ADMINISTRATOR))

    assert client.get(USERS)["Location"] == f"{LOGIN}?next={USERS}"
    assert client.get(LOGIN)["Location"] == ENROL
