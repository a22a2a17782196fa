"""Catalog operations that change state. The admin, the API and commands call these."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .exceptions import CatalogError
from .models.base import CatalogModel, Status
from .selectors import catalog_item_active_dependents


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
            if status == Status.ACTIVE:
                locked.validate_contents()
        except ValidationError as error:
            raise CatalogError(" ".join(error.messages)) from error
        if status == Status.ARCHIVED:
            _refuse_archiving_what_active_items_use(locked)
        locked.save(update_fields=["status", "updated_at"])
    return locked


def catalog_item_delete(*, item: CatalogModel) -> None:
    """Delete a draft. Anything that left draft may have been sold: archive it instead."""
    with transaction.atomic():
        # Re-read under a lock: someone may have activated it since it was loaded.
        locked = type(item).objects.select_for_update().filter(pk=item.pk).first()
        if locked is None:
            return
        if not locked.is_deletable:
            raise CatalogError(
                _("%(item)s has left draft and may have been sold; archive it instead of deleting.")
                % {"item": locked}
            )
        locked.delete()


def _refuse_archiving_what_active_items_use(item: CatalogModel) -> None:
    dependents = catalog_item_active_dependents(item=item)
    if dependents:
        raise CatalogError(
            _("Still used by %(items)s: archive or change those first.")
            % {"items": ", ".join(str(dependent) for dependent in dependents[:5])}
        )
