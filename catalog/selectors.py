"""Reads of the catalog."""

from __future__ import annotations

from .models import (
    Bundle,
    CorporateContract,
    CorporateOffer,
    Discount,
    Offer,
    Plan,
    Product,
    Status,
    Term,
)
from .models.base import CatalogModel


def catalog_item_active_dependents(*, item: CatalogModel) -> list[CatalogModel]:
    """The active items built on `item`: archiving it would leave them unsellable, so it
    waits until they are archived or changed (archiving goes top-down)."""
    active = {"status": Status.ACTIVE}
    queries = {
        Product: lambda: [
            *Bundle.objects.filter(items__product=item, **active),
            *Offer.objects.filter(product=item, **active),
            *CorporateContract.objects.filter(product=item, **active),
        ],
        Discount: lambda: list(Bundle.objects.filter(discounts=item, **active)),
        Term: lambda: [
            *Offer.objects.filter(term=item, **active),
            *Plan.objects.filter(term=item, **active),
            *Bundle.objects.filter(term=item, **active),
            *Term.objects.filter(renewal_term=item, **active),
        ],
        Bundle: lambda: list(Plan.objects.filter(plan_bundles__bundle=item, **active)),
        Plan: lambda: list(Offer.objects.filter(plan=item, **active)),
        CorporateContract: lambda: list(CorporateOffer.objects.filter(contracts=item, **active)),
    }
    query = queries.get(type(item))
    return query() if query else []
