"""Fixtures shared by the whole suite."""

import pytest
from django_q.conf import Conf


@pytest.fixture(autouse=True)
def _synchronous_tasks(monkeypatch):
    """Django-Q2 reads its config at import; run async_task inline in tests."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        email="staff@kontor.example", password="pw-staff-1", is_staff=True, is_superuser=True
    )
