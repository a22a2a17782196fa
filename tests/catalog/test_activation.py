"""Something active is built only from active parts: activating a bundle, plan, contract
or corporate offer through the status service or saving it active in the admin is
refused while one of its parts is a draft or archived, and nothing changes."""

import pytest

from catalog.exceptions import CatalogError
from catalog.models import Bundle, BundleItem, ContractTier, CorporateOffer, Plan, Status
from catalog.services import catalog_item_delete, catalog_item_set_status
from tests.catalog.admin_forms import add_rows, admin_url, inline_errors, open_form, row_counts
from tests.factories import (
    BundleFactory,
    CorporateContractFactory,
    CorporateOfferFactory,
    OfferFactory,
    PlanFactory,
    ProductFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db


def test_activating_a_bundle_with_an_archived_product_is_refused():
    product = ProductFactory(code="old-archive", archived=True)
    bundle = BundleFactory(draft=True, products=[product])

    with pytest.raises(CatalogError, match="Activate these first"):
        catalog_item_set_status(item=bundle, status=Status.ACTIVE)

    bundle.refresh_from_db()
    assert bundle.status == Status.DRAFT


def test_activating_a_bundle_without_products_or_discounts_is_refused():
    bundle = BundleFactory(draft=True, products=[])

    with pytest.raises(CatalogError, match="needs at least one product or discount"):
        catalog_item_set_status(item=bundle, status=Status.ACTIVE)

    assert Bundle.objects.get(pk=bundle.pk).status == Status.DRAFT


def test_activating_a_plan_with_a_draft_bundle_is_refused_and_allowed_once_it_is_active():
    bundle = BundleFactory(draft=True, products=[ProductFactory()])
    plan = PlanFactory(draft=True, bundles=[bundle])

    with pytest.raises(CatalogError, match="Activate these first"):
        catalog_item_set_status(item=plan, status=Status.ACTIVE)
    assert Plan.objects.get(pk=plan.pk).status == Status.DRAFT

    catalog_item_set_status(item=bundle, status=Status.ACTIVE)
    catalog_item_set_status(item=plan, status=Status.ACTIVE)
    assert Plan.objects.get(pk=plan.pk).status == Status.ACTIVE


def test_activating_a_contract_without_tiers_is_refused():
    contract = CorporateContractFactory(draft=True, tiers=[])
    assert ContractTier.objects.filter(contract=contract).count() == 0

    with pytest.raises(CatalogError, match="at least one price tier"):
        catalog_item_set_status(item=contract, status=Status.ACTIVE)


def test_activating_a_corporate_offer_with_a_draft_contract_is_refused():
    contract = CorporateContractFactory(draft=True)
    offer = CorporateOfferFactory(draft=True, contracts=[contract])

    with pytest.raises(CatalogError, match="Activate these first"):
        catalog_item_set_status(item=offer, status=Status.ACTIVE)

    assert CorporateOffer.objects.get(pk=offer.pk).status == Status.DRAFT


def test_admin_refuses_adding_an_archived_product_to_an_active_bundle(staff_client):
    bundle = BundleFactory(code="digital-basic")
    archived = ProductFactory(code="old-archive", archived=True)
    data = add_rows(open_form(staff_client, "bundle", bundle), "items", {"product": archived})
    before = row_counts(Bundle, BundleItem)

    response = staff_client.post(admin_url("bundle", "change", bundle.pk), data)

    assert inline_errors(response, "items") == [f"Activate these first: {archived}."]
    assert row_counts(Bundle, BundleItem) == before


def test_archiving_a_product_that_an_active_offer_sells_is_refused_until_that_is_archived():
    product = ProductFactory(code="paper", name="Paper")
    offer = OfferFactory(code="paper-monthly", name="Paper monthly", product=product)

    with pytest.raises(CatalogError, match=r"Still used by Paper monthly \(paper-monthly\)"):
        catalog_item_set_status(item=product, status=Status.ARCHIVED)
    assert type(product).objects.get(pk=product.pk).status == Status.ACTIVE

    catalog_item_set_status(item=offer, status=Status.ARCHIVED)
    catalog_item_set_status(item=product, status=Status.ARCHIVED)
    assert type(product).objects.get(pk=product.pk).status == Status.ARCHIVED


def test_archiving_a_contract_of_an_active_corporate_offer_is_refused():
    contract = CorporateContractFactory()
    CorporateOfferFactory(contracts=[contract])

    with pytest.raises(CatalogError, match="Still used by"):
        catalog_item_set_status(item=contract, status=Status.ARCHIVED)


def test_activating_an_offer_on_a_draft_term_is_refused():
    offer = OfferFactory(draft=True, term=TermFactory(draft=True, code="t12", name="12 months"))

    with pytest.raises(CatalogError, match=r"12 months \(t12\) is a draft; activate it first"):
        catalog_item_set_status(item=offer, status=Status.ACTIVE)


def test_the_admin_delete_page_deletes_a_draft_through_the_service(staff_client):
    draft = ProductFactory(draft=True)

    response = staff_client.post(admin_url("product", "delete", draft.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not type(draft).objects.filter(pk=draft.pk).exists()


def test_deleting_a_draft_that_was_activated_meanwhile_is_refused():
    stale = ProductFactory(draft=True)
    catalog_item_set_status(
        item=ProductFactory._meta.model.objects.get(pk=stale.pk), status=Status.ACTIVE
    )

    with pytest.raises(CatalogError, match="archive it instead"):
        catalog_item_delete(item=stale)

    assert type(stale).objects.filter(pk=stale.pk).exists()
