"""Using codes: look up, check, claim (the one redemption, concurrency-safe), release;
and staff's enable/disable of single codes.

`code_claim` is what a purchase calls inside its own transaction: it checks the code and
then counts the redemption with one conditional UPDATE on the code's own row
(``redeemed_count = redeemed_count + 1 WHERE id = … AND redeemed_count <
redemption_limit AND NOT disabled``). PostgreSQL re-evaluates that condition on the
newest row version when concurrent claims queue on the row lock, so a code with 10
redemptions left gives exactly 10, however many try at once. If the purchase rolls back,
the redemption does too. The record of who redeemed it lives in `subscriptions`
(docs/adr/0002-coupon-redemptions.md).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone

from audit.recorder import record_bulk_change
from coupons.codes import normalize
from coupons.exceptions import CouponRefused, NothingToRelease
from coupons.models import Campaign, Code

from .throttle import guess_record_failure, guess_throttle_check


def code_lookup(*, code: str) -> Code | None:
    """The code as customers type it (any case, spaces around), with its campaign."""
    wanted = normalize(code)
    if not wanted:
        return None
    return (
        Code.objects.select_related("campaign")
        .alias(upper=Upper("code"))
        .filter(upper=wanted)
        .first()
    )


def _refusal(found: Code, *, bundle_ids: Collection[int], kind: str, now: datetime) -> str | None:
    """Why the code cannot be used now (the first reason that applies), or None."""
    campaign = found.campaign
    if found.disabled or campaign.status != Campaign.Status.ACTIVE:
        return "disabled"
    if campaign.kind != kind:
        return "wrong_kind"
    if now < campaign.valid_from:
        return "not_yet_valid"
    if campaign.valid_until is not None and now >= campaign.valid_until:
        return "expired"
    if campaign.bundle_id not in bundle_ids:
        return "wrong_bundle"
    if found.redeemed_count >= found.redemption_limit:
        return "used_up"
    return None


def code_check(
    *,
    code: str,
    bundle_ids: Collection[int],
    kind: str,
    now: datetime | None = None,
    throttle_key: str | None = None,
) -> Code:
    """The code, if it could be used now for a purchase of these bundles (`kind`:
    "coupon" at checkout, "voucher" on the redeem page); nothing is consumed. Raises
    CouponRefused with the reason. With `throttle_key` (the client's address or the
    customer's id), unknown codes count as wrong guesses and too many are refused."""
    now = now or timezone.now()
    if throttle_key is not None:
        guess_throttle_check(throttle_key, now=now)
    found = code_lookup(code=code)
    if found is None:
        if throttle_key is not None:
            guess_record_failure(throttle_key, now=now)
        raise CouponRefused(reason="unknown")
    reason = _refusal(found, bundle_ids=bundle_ids, kind=kind, now=now)
    if reason is not None:
        raise CouponRefused(reason=reason)
    return found


@transaction.atomic
def code_claim(
    *,
    code: str,
    bundle_ids: Collection[int],
    kind: str,
    now: datetime | None = None,
    throttle_key: str | None = None,
) -> Code:
    """Take one redemption of the code, or raise CouponRefused (see the module
    docstring). Call it inside the purchase's transaction."""
    now = now or timezone.now()
    found = code_check(
        code=code, bundle_ids=bundle_ids, kind=kind, now=now, throttle_key=throttle_key
    )
    updated = Code.objects.filter(
        pk=found.pk, redeemed_count__lt=F("redemption_limit"), disabled=False
    ).update(redeemed_count=F("redeemed_count") + 1)
    if updated == 0:
        # Taken meanwhile (or disabled): read it again for the precise reason.
        found.refresh_from_db(fields=["redeemed_count", "disabled"])
        reason = _refusal(found, bundle_ids=bundle_ids, kind=kind, now=now)
        raise CouponRefused(reason=reason or "used_up")
    found.refresh_from_db(fields=["redeemed_count"])
    return found


@transaction.atomic
def code_release(*, code_id: int) -> Code:
    """Give one redemption back (staff undoing a redemption). A purchase that rolls
    back needs none of this: its claim rolls back with it."""
    updated = Code.objects.filter(pk=code_id, redeemed_count__gt=0).update(
        redeemed_count=F("redeemed_count") - 1
    )
    if updated == 0:
        raise NothingToRelease()
    return Code.objects.select_related("campaign").get(pk=code_id)


def _set_disabled(code_ids: Iterable[int], disabled: bool) -> int:
    changing = Code.objects.filter(pk__in=list(code_ids)).exclude(disabled=disabled)
    ids = list(changing.values_list("pk", flat=True))
    updated = Code.objects.filter(pk__in=ids).update(disabled=disabled)
    record_bulk_change(
        model=Code,
        pks=ids,
        changes={"disabled": (not disabled, disabled)},
        operation="codes_disable" if disabled else "codes_enable",
    )
    return updated


@transaction.atomic
def code_disable(*, code: Code) -> Code:
    """The code cannot be used until enabled again; its redemptions stay counted."""
    _set_disabled([code.pk], True)
    code.disabled = True
    return code


@transaction.atomic
def code_enable(*, code: Code) -> Code:
    _set_disabled([code.pk], False)
    code.disabled = False
    return code


@transaction.atomic
def codes_disable(*, code_ids: Iterable[int]) -> int:
    """Disable many codes in one statement (the admin's action); how many."""
    return _set_disabled(code_ids, True)


@transaction.atomic
def codes_enable(*, code_ids: Iterable[int]) -> int:
    return _set_disabled(code_ids, False)
