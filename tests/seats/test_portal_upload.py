"""Inviting from a CSV list in the portal: every row error with its line number, nothing
imported until the file is clean or the main user asks for the valid rows only."""

from __future__ import annotations

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from seats.models import Invitation
from seats.services.seats import user_subscription_start
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account():
    return SeatAccountFactory(maximum_users=2)


@pytest.fixture
def owner_client(client, account):
    client.force_login(account.subscription.customer.main_user)
    return client


def upload(client, account, content: str):
    return client.post(
        reverse("seats:upload", args=[account.public_id]),
        {"file": SimpleUploadedFile("users.csv", content.encode(), content_type="text/csv")},
    )


def test_upload_lists_every_row_error_with_its_line_and_imports_nothing(owner_client, account):
    response = upload(owner_client, account, "email;first_name\nann@example.com;Ann\nbroken;Bo\n")

    html = response.content.decode()
    assert "Line 3:" in html
    assert "Import the 1 valid row only" in html
    assert not Invitation.objects.exists()


def test_upload_imports_a_clean_file_after_confirmation(owner_client, account):
    response = upload(owner_client, account, "email,first_name\nann@example.com,Ann\n")
    token = response.context["token"]
    assert not Invitation.objects.exists()

    response = owner_client.post(
        reverse("seats:upload", args=[account.public_id]), {"token": token}, follow=True
    )

    assert list(Invitation.objects.values_list("email", "first_name")) == [
        ("ann@example.com", "Ann")
    ]
    assert "1 user is invited." in response.content.decode()


def test_upload_imports_the_valid_rows_only_when_asked(owner_client, account):
    user = UserFactory(email="rita@example.com")
    user_subscription_start(account=account, user=user, via="invitation", now=NOW)
    response = upload(owner_client, account, "email\nann@example.com\nrita@example.com\n")
    token = response.context["token"]

    refused = owner_client.post(
        reverse("seats:upload", args=[account.public_id]), {"token": token}, follow=True
    )
    assert not Invitation.objects.exists()
    assert "The file has errors; nothing was imported." in refused.content.decode()

    owner_client.post(
        reverse("seats:upload", args=[account.public_id]), {"token": token, "only_valid": "1"}
    )
    assert list(Invitation.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_an_upload_token_of_another_account_is_not_found(owner_client, account, client):
    token = upload(owner_client, account, "email\nann@example.com\n").context["token"]
    other = SeatAccountFactory()
    client.force_login(other.subscription.customer.main_user)

    response = client.post(
        reverse("seats:upload", args=[other.public_id]), {"token": token}, follow=True
    )

    assert "no longer kept" in response.content.decode()
    assert not Invitation.objects.exists()


def test_upload_progress_of_an_unknown_import_is_404(owner_client, account):
    url = reverse("seats:upload", args=[account.public_id])
    assert owner_client.get(url, {"progress": "abc"}).status_code == 404


def test_a_large_file_is_imported_by_a_task_and_the_page_shows_its_progress(
    owner_client, account, django_capture_on_commit_callbacks, monkeypatch
):
    from seats.services import csv_import

    monkeypatch.setattr(csv_import, "ASYNC_ROWS", 5)  # "large": more rows than this
    account.maximum_users = None
    account.save()
    rows = "".join(f"member{i}@example.com\n" for i in range(12))
    token = upload(owner_client, account, "email\n" + rows).context["token"]
    url = reverse("seats:upload", args=[account.public_id])

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url, {"token": token})

    assert response.status_code == 302
    assert "?progress=" in response["Location"]
    assert Invitation.objects.count() == 12
    page = owner_client.get(response["Location"])
    html = page.content.decode()
    assert "12 users are invited." in html
    assert 'http-equiv="refresh"' not in html
