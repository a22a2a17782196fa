"""The bench's bulk rows obey every rule the models and the admin apply, not only the
database's constraints, so the pages show what real data would make them show."""

import pytest
from django.contrib.auth import get_user_model

from bench import fixtures
from catalog import models as catalog

SCALE = 12  # above 10, so folders nest; every mod() pattern in fixtures appears


@pytest.fixture
def loaded(db):
    fixtures.load_catalog(SCALE)
    fixtures.load_customers(SCALE)


@pytest.mark.parametrize(
    "model",
    [m for m in fixtures.CATALOG_MODELS if not m._meta.auto_created] + [get_user_model()],
    ids=lambda m: m.__name__,
)
def test_every_generated_row_passes_full_clean(loaded, model):
    rows = list(model._default_manager.all())
    assert rows
    for row in rows:
        row.full_clean()


def test_generated_main_tables_have_scale_rows(loaded):
    for model in (catalog.Product, catalog.Plan, catalog.Offer, catalog.CorporateOffer):
        assert model.objects.count() == SCALE
    assert get_user_model().objects.count() == SCALE


def test_generated_rows_obey_the_cross_row_rules(loaded):
    for bundle in catalog.Bundle.objects.prefetch_related("products", "discounts"):
        catalog.validate_bundle_contents(
            products=list(bundle.products.all()), discounts=list(bundle.discounts.all())
        )
    for plan in catalog.Plan.objects.prefetch_related("bundles", "compatible_bundles"):
        catalog.validate_plan_bundles(
            bundles=list(plan.bundles.all()), compatible=list(plan.compatible_bundles.all())
        )
    for contract in catalog.CorporateContract.objects.prefetch_related("tiers"):
        catalog.validate_tiers([tier.up_to for tier in contract.tiers.all()])
    for offer in catalog.CorporateOffer.objects.prefetch_related("contracts"):
        catalog.validate_offer_contracts(offer.structure, offer.contracts.all())


def test_ids_continue_after_generated_rows(loaded):
    product = catalog.Product.objects.create(code="after-bulk", name="After bulk")
    assert product.pk == SCALE + 1
