"""Every portal page works under the strict Content-Security-Policy."""

import re

import pytest

pytestmark = pytest.mark.django_db

ANONYMOUS_PAGES = [
    "/portal/login/",
    "/portal/password/reset/",
    "/portal/password/reset/sent/",
    "/portal/password/reset/complete/",
    "/portal/password/reset/MQ/not-a-token/",
]
LOGGED_IN_PAGES = ["/portal/", "/portal/password/change/", "/portal/password/change/done/"]


def _assert_nothing_inline(html: str) -> None:
    assert "style=" not in html
    assert "<style" not in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "htmx is loaded on every page"
    assert all(" src=" in tag for tag in scripts), scripts
    assert re.search(r"\son[a-z]+=", html) is None


def _assert_strict_csp(response) -> None:
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


@pytest.mark.parametrize("url", ANONYMOUS_PAGES)
def test_anonymous_page_has_no_inline_code_and_a_strict_policy(client, url):
    response = client.get(url)

    assert response.status_code == 200
    _assert_nothing_inline(response.content.decode())
    _assert_strict_csp(response)


@pytest.mark.parametrize("url", LOGGED_IN_PAGES)
def test_portal_page_has_no_inline_code_and_a_strict_policy(customer_client, url):
    response = customer_client.get(url)

    assert response.status_code == 200
    _assert_nothing_inline(response.content.decode())
    _assert_strict_csp(response)


def test_htmx_is_loaded_from_our_own_static_files(client):
    html = client.get("/portal/login/").content.decode()

    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in html
    assert '"includeIndicatorStyles": false' in html


def test_login_form_errors_render_without_inline_code(client, customer):
    response = client.post("/portal/login/", {"username": customer.email, "password": "nope"})

    _assert_nothing_inline(response.content.decode())
