"""Reads for billing: contracts as price schedules, accounts on billing hold."""

from __future__ import annotations

from catalog.models import CorporateContract

from .pricing import PriceSchedule, Tier


def corporate_contract_with_tiers(*, pk: int) -> CorporateContract:
    """One contract with its tiers prefetched (for staff, who see every contract).
    Raises `CorporateContract.DoesNotExist`."""
    return CorporateContract.objects.prefetch_related("tiers").get(pk=pk)


def price_schedule_for_contract(contract: CorporateContract) -> PriceSchedule:
    """The contract's pricing as an engine schedule. Raises `ValueError` when its tiers
    do not form a valid schedule yet (none, or no open last tier)."""
    # Sort here as well as in the model's Meta: a prefetch may have been given another order.
    tiers = sorted(contract.tiers.all(), key=lambda t: (t.up_to is None, t.up_to or 0))
    return PriceSchedule(
        strategy=contract.pricing_strategy,
        tiers=tuple(Tier(t.up_to, t.unit_amount, t.flat_amount) for t in tiers),
        mode=contract.tier_mode,
        package_size=contract.package_size,
        base_fee=contract.base_fee_amount,
    )


def held_account_count() -> int:
    """How many customer accounts are on billing hold (for staff: one query)."""
    from billing.models import BillingHold

    return (
        BillingHold.objects.filter(released_at__isnull=True)
        .values("customer_id")
        .distinct()
        .count()
    )
