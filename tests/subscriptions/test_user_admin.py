"""Staff manage users (customers and staff) in the admin by e-mail address."""

import pytest
from django.contrib.auth.models import Group

from subscriptions.models import User
from subscriptions.roles import ADMINISTRATOR, CUSTOMER_SUPPORT

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/subscriptions/user/add/"
LIST_URL = "/admin/subscriptions/user/"
PASSWORD = "Admin-Chosen-Passw0rd"


def test_staff_adds_a_user_by_email(staff_client):
    response = staff_client.post(
        ADD_URL,
        {
            "email": " New.Person@Example.COM ",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert response["Location"] == f"/admin/subscriptions/user/{user.pk}/change/"
    assert user.check_password(PASSWORD)
    assert not user.is_staff


def test_add_page_asks_for_email_and_password_only(staff_client):
    html = staff_client.get(ADD_URL).content.decode()

    assert 'name="email"' in html
    assert 'name="password1"' in html
    assert 'name="password2"' in html
    assert 'name="username"' not in html


def test_adding_an_email_that_differs_only_in_case_is_refused(staff_client, customer):
    response = staff_client.post(
        ADD_URL,
        {
            "email": "ANNA.SCHMIDT@example.com",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 200
    assert "A user with this e-mail address already exists." in response.content.decode()
    assert User.objects.filter(email__iexact="anna.schmidt@example.com").count() == 1


def test_user_list_shows_email_name_and_groups(staff_client, customer, django_assert_num_queries):
    customer.groups.add(Group.objects.get(name=CUSTOMER_SUPPORT))

    # session, user, 2 counts, page of users, their groups, groups for the filter
    with django_assert_num_queries(8):  # 7 + the verified TOTP device
        response = staff_client.get(LIST_URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "anna.schmidt@example.com" in html
    assert '<td class="field-name">Anna Schmidt</td>' in html
    assert '<td class="field-group_names">Customer support</td>' in html


def test_user_list_searches_by_name(staff_client, customer, django_user_model):
    django_user_model.objects.create_user(email="other@example.com", first_name="Otto")

    html = staff_client.get(LIST_URL, {"q": "Schmidt"}).content.decode()

    assert "anna.schmidt@example.com" in html
    assert "other@example.com" not in html


def test_only_a_superuser_can_grant_superuser_status(
    client, customer, django_user_model, otp_force_login
):
    administrator = django_user_model.objects.create_user(
        email="admin-role@kontor.example", password="pw-admin-1", is_staff=True
    )
    administrator.groups.add(Group.objects.get(name=ADMINISTRATOR))
    otp_force_login(client, administrator)  # Administrators use two-factor login

    html = client.get(f"/admin/subscriptions/user/{customer.pk}/change/").content.decode()

    assert 'name="email"' in html
    assert 'name="is_staff"' in html
    assert 'name="is_superuser"' not in html
