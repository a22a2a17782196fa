"""Fixtures shared by the whole suite."""

import pytest
from django_q.conf import Conf

from subscriptions.roles import sync_staff_roles


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's database setup, plus the role groups. They come from a data
    migration, but a transactional test's flush removes them, and `--reuse-db` does not
    migrate again: make sure they exist when the session starts (after an interrupted
    run) and when it ends (for the next run). Runs only when a test uses the database."""
    with django_db_blocker.unblock():
        sync_staff_roles()
    yield
    with django_db_blocker.unblock():
        sync_staff_roles()


@pytest.fixture(autouse=True)
def _synchronous_tasks(monkeypatch):
    """Django-Q2 reads its config at import; run async_task inline in tests."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        email="staff@kontor.example", password="pw-staff-1", is_staff=True, is_superuser=True
    )


def _verified_force_login(user, client, force_login, backend=None):
    """`force_login` stands for a completed login; for staff who must give a second
    factor (superusers, Administrators, enrolled staff) that includes the code: their
    session is verified with a confirmed TOTP device. The login form itself, with and
    without codes, is tested in tests/security/test_two_factor.py."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from security.otp import confirmed_device, otp_required_for

    force_login(user, backend)
    if not otp_required_for(user):
        return None
    device = confirmed_device(user) or TOTPDevice.objects.create(
        user=user, name="Test app", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture(autouse=True)
def _force_login_gives_both_factors(monkeypatch):
    from django.test import Client

    original = Client.force_login

    def force_login(self, user, backend=None):
        _verified_force_login(user, self, lambda u, b: original(self, u, b), backend)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def otp_force_login():
    """Sign in a staff member with a confirmed TOTP device (made if missing) and a
    session verified with it, as after a login with a code; returns the device."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from security.otp import confirmed_device

    def login(client, user):
        if confirmed_device(user) is None:
            TOTPDevice.objects.create(user=user, name="Test app", confirmed=True)
        client.force_login(user)  # verified: see _force_login_gives_both_factors
        return confirmed_device(user)

    return login
