"""Status changes (draft → active ⇄ archived, never back to draft) and deletion (drafts
only: anything that left draft may have been sold), in the admin and in the services."""

import pytest
from django.core.exceptions import ValidationError

from catalog.exceptions import CatalogError
from catalog.models import Bundle, CorporateContract, Offer, Product, Term
from catalog.services import catalog_item_delete, catalog_item_set_status
from tests.catalog.admin_forms import admin_url, open_form, row_counts
from tests.factories import (
    BundleFactory,
    CorporateContractFactory,
    CorporateOfferFactory,
    DiscountFactory,
    OfferFactory,
    PlanFactory,
    ProductFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db


# --- never back to draft ----------------------------------------------------------------


def test_admin_forms_show_the_status_read_only_so_a_post_cannot_change_it(staff_client):
    product = ProductFactory()
    data = open_form(staff_client, "product", product) | {"status": "draft", "name": "Renamed"}

    response = staff_client.post(admin_url("product", "change", product.pk), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.status) == ("Renamed", "active")


def test_the_status_view_offers_no_way_back_to_draft(staff_client):
    offer = OfferFactory(archived=True)

    response = staff_client.post(admin_url("offer", "status", offer.pk, "draft"))

    assert response.status_code == 405
    offer.refresh_from_db()
    assert offer.status == "archived"


def test_set_status_refuses_draft_after_active_and_changes_nothing():
    term = TermFactory()

    with pytest.raises(CatalogError) as error:
        catalog_item_set_status(item=term, status="draft")

    assert str(error.value) == (
        "Once active, it cannot return to draft: it may have been sold. Archive it instead."
    )
    assert Term.objects.get(pk=term.pk).status == "active"


def test_set_status_refuses_an_unknown_status():
    product = ProductFactory()

    with pytest.raises(CatalogError, match="Unknown status 'sold_out'"):
        catalog_item_set_status(item=product, status="sold_out")

    assert Product.objects.get(pk=product.pk).status == "active"


def test_set_status_refuses_to_activate_an_offer_whose_product_is_archived():
    paper = ProductFactory(archived=True, code="paper", name="Paper")
    offer = OfferFactory(draft=True, product=paper)

    with pytest.raises(CatalogError) as error:
        catalog_item_set_status(item=offer, status="active")

    assert str(error.value) == ("Paper (paper) is archived; activate it first.")
    assert Offer.objects.get(pk=offer.pk).status == "draft"


def test_set_status_refuses_to_activate_an_offer_whose_plan_is_a_draft():
    offer = OfferFactory(draft=True, complex=True, plan__draft=True, plan__code="premium")

    with pytest.raises(CatalogError, match=r"\(premium\) is a draft; activate it"):
        catalog_item_set_status(item=offer, status="active")

    assert Offer.objects.get(pk=offer.pk).status == "draft"


def test_set_status_activates_a_draft_and_reactivates_an_archived_item():
    draft, archived = ProductFactory(draft=True), ProductFactory(archived=True)

    catalog_item_set_status(item=draft, status="active")
    catalog_item_set_status(item=archived, status="active")

    assert set(Product.objects.filter(pk__in=[draft.pk, archived.pk]).values_list("status")) == {
        ("active",)
    }


def test_set_status_archives_an_active_contract():
    contract = CorporateContractFactory()

    returned = catalog_item_set_status(item=contract, status="archived")

    assert returned.status == "archived"
    assert CorporateContract.objects.get(pk=contract.pk).status == "archived"


# --- deletion ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["active", "archived"])
def test_admin_has_no_delete_page_for_an_item_that_left_draft(staff_client, state):
    bundle = BundleFactory(**{state: True} if state == "archived" else {})

    response = staff_client.get(admin_url("bundle", "delete", bundle.pk))

    assert response.status_code == 403
    assert Bundle.objects.filter(pk=bundle.pk).exists()


def test_admin_refuses_a_posted_delete_of_an_active_offer(staff_client):
    offer = OfferFactory()

    response = staff_client.post(admin_url("offer", "delete", offer.pk), {"post": "yes"})

    assert response.status_code == 403
    assert Offer.objects.filter(pk=offer.pk).exists()


def test_admin_deletes_a_draft(staff_client):
    product = ProductFactory(draft=True)

    page = staff_client.get(admin_url("product", "delete", product.pk))
    response = staff_client.post(admin_url("product", "delete", product.pk), {"post": "yes"})

    assert (page.status_code, response.status_code) == (200, 302)
    assert not Product.objects.filter(pk=product.pk).exists()


def test_admin_offers_no_bulk_delete_action(staff_client):
    response = staff_client.get(admin_url("offer", "changelist"))

    actions = [name for name, _label in response.context["action_form"].fields["action"].choices]
    assert actions == ["", "activate_selected", "archive_selected"]


def test_delete_service_refuses_an_active_item_and_keeps_it():
    product = ProductFactory(code="paper", name="Paper")

    with pytest.raises(CatalogError) as error:
        catalog_item_delete(item=product)

    assert str(error.value) == (
        "Paper (paper) has left draft and may have been sold; archive it instead of deleting."
    )
    assert Product.objects.filter(pk=product.pk).exists()


def test_delete_service_refuses_an_archived_item_even_when_loaded_fresh():
    contract = CorporateContractFactory(archived=True)

    with pytest.raises(CatalogError):
        catalog_item_delete(item=CorporateContract.objects.get(pk=contract.pk))

    assert CorporateContract.objects.filter(pk=contract.pk).exists()


def test_delete_service_deletes_a_draft():
    term = TermFactory(draft=True)

    catalog_item_delete(item=term)

    assert not Term.objects.filter(pk=term.pk).exists()


def test_model_delete_refuses_an_item_activated_in_memory_and_saved():
    product = ProductFactory(draft=True)
    product.status = "active"
    product.save()

    with pytest.raises(ValidationError) as error:
        product.delete()

    assert error.value.code == "not_deletable"
    assert Product.objects.filter(pk=product.pk).exists()


# --- the status actions of the changelists ----------------------------------------------


def run_action(client, model: str, action: str, *items):
    data = {"action": action, "_selected_action": [str(i.pk) for i in items], "index": "0"}
    response = client.post(admin_url(model, "changelist"), data, follow=True)
    assert response.status_code == 200
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_archive_selected_archives_every_selected_item(staff_client):
    offers = [OfferFactory(), OfferFactory(draft=True)]
    untouched = OfferFactory()

    messages = run_action(staff_client, "offer", "archive_selected", *offers)

    assert messages == [("success", "2 items updated.")]
    statuses = dict(Offer.objects.values_list("pk", "status"))
    assert [statuses[o.pk] for o in [*offers, untouched]] == ["archived", "archived", "active"]


def test_activate_selected_refuses_an_offer_whose_product_is_archived(staff_client):
    sellable = OfferFactory(draft=True)
    paper = ProductFactory(archived=True, code="paper", name="Paper")
    refused = OfferFactory(draft=True, code="paper-monthly", product=paper)

    messages = run_action(staff_client, "offer", "activate_selected", sellable, refused)

    assert sorted(messages) == [
        (
            "error",
            "paper-monthly: Paper (paper) is archived; activate it first.",
        ),
        ("success", "1 item updated."),
    ]
    statuses = dict(Offer.objects.values_list("pk", "status"))
    assert (statuses[sellable.pk], statuses[refused.pk]) == ("active", "draft")


def test_activate_selected_with_only_refusals_changes_nothing(staff_client):
    refused = OfferFactory(draft=True, product=ProductFactory(archived=True))
    before = row_counts(Offer)

    messages = run_action(staff_client, "offer", "activate_selected", refused)

    assert [level for level, _text in messages] == ["error"]
    refused.refresh_from_db()
    assert refused.status == "draft"
    assert row_counts(Offer) == before


@pytest.mark.parametrize(
    ("model", "factory"),
    [
        ("product", ProductFactory),
        ("discount", DiscountFactory),
        ("term", TermFactory),
        ("bundle", BundleFactory),
        ("plan", PlanFactory),
        ("offer", OfferFactory),
        ("corporatecontract", CorporateContractFactory),
        ("corporateoffer", CorporateOfferFactory),
    ],
)
def test_archive_selected_works_on_every_catalog_list(staff_client, model, factory):
    items = [factory(), factory()]

    messages = run_action(staff_client, model, "archive_selected", *items)

    assert messages == [("success", "2 items updated.")]
    model_class = type(items[0])
    assert set(
        model_class.objects.filter(pk__in=[i.pk for i in items]).values_list("status", flat=True)
    ) == {"archived"}
