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
