"""The customer's own account details, as the portal's account page changes them."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from subscriptions.models import Activity, Customer, User

# What a customer may change about their account; the kind (person or company), the
# currency and the main user are staff matters.
EDITABLE_FIELDS = (
    "name",
    "email",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "language",
    "vat_id",
    "buyer_reference",
)


@transaction.atomic
def customer_update_details(
    *, customer: Customer, actor: User | None = None, **details: str
) -> Customer:
    """Change the account's name, billing e-mail, address, country, language and (for a
    company) VAT id and buyer reference (for its e-invoices). Raises ValidationError
    (per field) and changes nothing when the result breaks a rule of the model; records
    what changed in the activity history."""
    unknown = set(details) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    before = {field: getattr(locked, field) for field in EDITABLE_FIELDS}
    for field, value in details.items():
        setattr(locked, field, value.strip())
    locked.full_clean()
    changed = [f for f in EDITABLE_FIELDS if getattr(locked, f) != before[f]]
    if changed:
        locked.save(update_fields=[*changed, "updated_at"])
        Activity.objects.create(
            customer=locked,
            actor=actor,
            verb="details_changed",
            message="Changed: " + ", ".join(changed),
        )
    return locked


@transaction.atomic
def customer_save_by_staff(
    *, customer: Customer, actor: User | None, changed: Iterable[str] = ()
) -> Customer:
    """The admin's add and change pages: save a customer the admin form has validated and
    record it in the activity history (nothing is recorded when nothing changed)."""
    created = customer.pk is None
    changed = list(changed)
    customer.full_clean()
    customer.save()
    if created or changed:
        Activity.objects.create(
            customer=customer,
            actor=actor,
            verb="created" if created else "details_changed",
            message="" if created else "Changed by staff: " + ", ".join(changed),
        )
    return customer
