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


@pytest.fixture
def otp_force_login():
    """`client.force_login` for staff who must use two-factor login (Administrators): a
    confirmed TOTP device and a session verified with it, as after a login with a code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def login(client, user):
        device = TOTPDevice.objects.create(user=user, name="Test app", confirmed=True)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return device

    return login
