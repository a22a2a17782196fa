"""Catalog operations that change state. The admin, the API and commands call these."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from .exceptions import CatalogError
from .models.base import CatalogModel, Status


def catalog_item_set_status(*, item: CatalogModel, status: str) -> CatalogModel:
    """Activate or archive any catalog item, applying every model rule (full_clean):
    an active offer needs an active product, nothing returns to draft, and so on."""
    if status not in Status.values:
        raise CatalogError(f"Unknown status {status!r}.")
    with transaction.atomic():
        locked = type(item).objects.select_for_update().get(pk=item.pk)
        if locked.status == status:
            return locked
        locked.status = status
        try:
            locked.full_clean()
        except ValidationError as error:
            raise CatalogError(" ".join(error.messages)) from error
        locked.save(update_fields=["status", "updated_at"])
    return locked


def catalog_item_delete(*, item: CatalogModel) -> None:
    """Delete a draft. Anything that left draft may have been sold: archive it instead."""
    if not item.is_deletable:
        raise CatalogError(
            f"{item} has left draft and may have been sold; archive it instead of deleting."
        )
    item.delete()
