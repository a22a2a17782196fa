"""Sessions and headers (issue 10, point 7): with production settings the deploy checks
pass at WARNING, cookies are __Host- prefixed, HttpOnly (session) and SameSite, staff
sessions end within 12 hours, and every response carries the strict CSP, framing and
referrer headers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[1]


def production_settings(**extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 64 + "-not-a-real-secret-but-long-enough",
        "DJANGO_ALLOWED_HOSTS": "kontor.example.com",
        # Production's own key for callback secrets (kontor.E013); a fixed test key.
        "KONTOR_ENCRYPTION_KEYS": "dGVzdC1rZXktbm90LWZvci1wcm9kdWN0aW9uLTMyYnk=",
        **extra,
    }


def test_the_deploy_checks_pass_at_warning_level_with_production_settings():
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_settings(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_production_cookies_are_host_prefixed_httponly_and_same_site():
    script = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, "
        "s.CSRF_COOKIE_SAMESITE, s.KONTOR_STAFF_SESSION_SECONDS <= 12 * 3600)"
    )
    done = subprocess.run(  # noqa: S603 (our own settings)
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env=production_settings(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "True",
        "Lax",
        "Lax",
        "True",
    ], done.stderr


@pytest.mark.django_db
def test_a_staff_session_ends_within_12_hours_and_a_customers_keeps_its_age(
    client, django_user_model, settings
):
    staff = django_user_model.objects.create_user(
        email="staff@kontor.example", password="pw-staff-1", is_staff=True
    )
    customer = django_user_model.objects.create_user(
        email="reader@example.com", password="pw-reader-1"
    )

    client.post(reverse("admin:login"), {"username": staff.email, "password": "pw-staff-1"})
    staff_age = client.session.get_expiry_age()
    client.logout()
    client.post(
        reverse("subscriptions:login"), {"username": customer.email, "password": "pw-reader-1"}
    )
    customer_age = client.session.get_expiry_age()

    assert client.session.get("_auth_user_id") == str(customer.pk)
    assert staff_age == 12 * 3600
    assert customer_age == settings.SESSION_COOKIE_AGE


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/portal/login/", "/admin/login/", "/api/v1/docs"])
def test_every_response_carries_the_security_headers(client, url):
    response = client.get(url, follow=True)

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
