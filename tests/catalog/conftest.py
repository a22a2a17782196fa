import pytest


@pytest.fixture
def staff_client(client, staff_user):
    """A browser logged in to the admin as a superuser."""
    client.force_login(staff_user)
    return client
