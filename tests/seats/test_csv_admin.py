"""The admin's CSV import view (seats.views.activation.admin_csv_upload), called
directly: the admin engineer mounts it."""

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from seats.models import Invitation
from seats.views.activation import admin_csv_upload
from tests.seats.factories import SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def _post(user, account, data: bytes, **extra):
    request = RequestFactory().post(
        "/", {"file": SimpleUploadedFile("users.csv", data, "text/csv"), **extra}
    )
    request.user, request.session = user, SessionStore()
    # What django-otp's middleware says of a session verified with a code (the staff
    # user here is a superuser, who must give one).
    user.is_verified = lambda: True
    request._messages = FallbackStorage(request)
    return admin_csv_upload(request, account.pk)


def test_staff_import_a_clean_file(staff_user):
    account = SeatAccountFactory()

    response = _post(staff_user, account, b"email\nrita@example.com\n")

    assert response.status_code == 200
    assert b"1 user invited." in response.content
    assert Invitation.objects.get().invited_by == staff_user


def test_staff_see_row_errors_and_nothing_is_imported(staff_user):
    account = SeatAccountFactory()

    response = _post(staff_user, account, b"email\nrita@example.com\nbroken\n")

    assert response.status_code == 200
    assert b"<td>3</td><td>email</td>" in response.content
    assert Invitation.objects.count() == 0

    _post(staff_user, account, b"email\nrita@example.com\nbroken\n", only_valid="on")
    assert Invitation.objects.count() == 1


def test_staff_without_the_permission_are_refused():
    account = SeatAccountFactory()

    with pytest.raises(PermissionDenied):
        _post(UserFactory(is_staff=True), account, b"email\nrita@example.com\n")

    assert Invitation.objects.count() == 0


def test_a_binary_file_is_refused_on_the_form_and_nothing_is_imported(staff_user):
    account = SeatAccountFactory()

    response = _post(staff_user, account, b"\x89PNG\r\n\x1a\n\x00\x00\x00")

    assert response.status_code == 200
    assert b"not a CSV text file" in response.content
    assert not Invitation.objects.exists()
