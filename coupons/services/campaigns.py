"""Campaigns: create, change, enable/disable, and generate their codes.

Generation is the bulk path. It runs in chunks, each in its own transaction that locks
the campaign row, reads how many codes exist (`generated_count`, kept equal to that
number in the same transaction), writes the next chunk and moves the count on. So the
admin sees progress as chunks commit; a run that dies loses at most its current chunk
and the next run (the task again, or the sweep) resumes after the last committed one;
two runs at once take turns on the row lock and never write a code twice; and a
finished campaign is skipped. Small campaigns (up to `INLINE_LIMIT` codes) are
generated inside `campaign_create`'s own transaction, so they appear complete at once;
larger ones by a Django-Q2 task queued when the campaign is committed.

Random codes are written optimistically: a fresh draw practically never collides (the
template leaves a code space of at least a million per code), so the chunk goes straight
to COPY and only if the unique index refuses it are the colliding codes found (one
query) and drawn again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from audit.recorder import record_bulk_change
from catalog.models import Bundle, Product
from coupons import codes as code_rules
from coupons.exceptions import CouponError
from coupons.models import Campaign, Code, validate_discounted_products

from .store import CodesTaken, codes_insert, existing_codes

logger = logging.getLogger(__name__)

INLINE_LIMIT = 1000
CHUNK = 100_000
# Codes made through the API in one call; more are a campaign of their own.
API_LIMIT = 10_000
# The sweep resumes generation that has not finished this long after the campaign was made.
STALE_AFTER = timedelta(minutes=10)
MAX_REDRAWS = 5
EDITABLE_FIELDS = (
    "name",
    "description",
    "provider",
    "valid_from",
    "valid_until",
    "discount_type",
    "discount_percent",
    "discount_amount",
    "currency",
    "free_periods",
)


class GenerationFailed(Exception):
    """The codes cannot be written (numeric codes taken meanwhile); the campaign is
    marked failed with this message."""


# --- creating and changing -------------------------------------------------------------


def campaign_create(
    *,
    name: str,
    code: str,
    bundle: Bundle,
    template: str,
    valid_from: datetime,
    kind: str = Campaign.Kind.COUPON,
    charset: str = Campaign.Charset.ALPHANUMERIC,
    quantity: int = 1,
    redemption_quantity: int = 1,
    range_start: int = 0,
    valid_until: datetime | None = None,
    description: str = "",
    provider: str = "",
    discount_type: str = "",
    discount_percent: Decimal | None = None,
    discount_amount: Decimal | None = None,
    currency: str | None = None,
    discounted_products: Collection[Product] = (),
    free_periods: int | None = None,
) -> Campaign:
    """Check a campaign completely (fields, template fit, products, numeric or literal
    codes already taken) and only then write it; generate its codes now when it is
    small, else queue the task. Raises ValidationError (per field) with nothing written."""
    campaign = Campaign(
        name=name, code=code, bundle=bundle, template=template, valid_from=valid_from,
        kind=kind, charset=charset, quantity=quantity, redemption_quantity=redemption_quantity,
        range_start=range_start, valid_until=valid_until, description=description,
        provider=provider, discount_type=discount_type or "", discount_percent=discount_percent,
        discount_amount=discount_amount, free_periods=free_periods,
    )  # fmt: skip
    if currency:
        campaign.currency = currency
    campaign.full_clean()
    products = list(discounted_products)
    validate_discounted_products(bundle=bundle, products=products)
    with transaction.atomic():
        _refuse_taken_sequence(campaign)
        campaign.save()
        campaign.discounted_products.set(products)
        if campaign.quantity <= INLINE_LIMIT:
            _generate_all(campaign)
        else:
            pk = campaign.pk
            transaction.on_commit(lambda: async_task("coupons.tasks.generate_codes", pk))
    return campaign


def campaign_check(
    *, campaign: Campaign, discounted_products: Collection[Product], adding: bool = True
) -> None:
    """The checks of `campaign_create` over other rows, for a form to show on its fields
    before saving (the discounted products are the bundle's; a new campaign's numeric or
    literal codes are not taken). Raises ValidationError; writes nothing."""
    validate_discounted_products(bundle=campaign.bundle, products=list(discounted_products))
    if adding:
        _refuse_taken_sequence(campaign)


def _sequence(campaign: Campaign) -> list[str] | None:
    """The codes of a literal or numeric campaign (known in advance); None for random."""
    literal = code_rules.literal_code(campaign.template, campaign.quantity)
    if literal is not None:
        return [literal]
    if campaign.charset == Campaign.Charset.NUMERIC:
        return code_rules.expand_template(
            campaign.template, "numeric", campaign.quantity, campaign.range_start
        )
    return None


def _refuse_taken_sequence(campaign: Campaign) -> None:
    """Numeric and literal codes cannot be drawn again: refuse the campaign if any of
    them exists in another campaign (one query)."""
    planned = _sequence(campaign)
    if not planned:
        return
    taken = sorted(existing_codes(planned))
    if taken:
        shown = ", ".join(taken[:5]) + (" …" if len(taken) > 5 else "")
        raise ValidationError(
            {
                "template": _("%(count)d of these codes exist already: %(codes)s.")
                % {"count": len(taken), "codes": shown}
            },
            code="codes_taken",
        )


@transaction.atomic
def campaign_update(
    *, campaign: Campaign, discounted_products: Collection[Product] | None = None
) -> Campaign:
    """Save staff's changes to what a campaign may change once its codes exist (names,
    validity, the discount). The codes' shape (template, charset, quantities, range
    start), its kind and bundle stay as created: codes were made and given out from them.
    The changes apply to redemptions from now on; those made keep their amounts."""
    stored = Campaign.objects.select_for_update().get(pk=campaign.pk)
    for field in EDITABLE_FIELDS:
        setattr(stored, field, getattr(campaign, field))
    stored.full_clean()
    if discounted_products is not None:
        products = list(discounted_products)
        validate_discounted_products(bundle=stored.bundle, products=products)
        stored.discounted_products.set(products)
    stored.save(update_fields=EDITABLE_FIELDS)
    return stored


def _set_status(campaign: Campaign, status: str) -> Campaign:
    # The status before, read under the row's lock (the caller's copy may be stale).
    before = (
        Campaign.objects.select_for_update().values_list("status", flat=True).get(pk=campaign.pk)
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    record_bulk_change(
        model=Campaign,
        pks=[campaign.pk],
        changes={"status": (before, status)},
        operation=f"campaign_set_status:{status}",
    )
    campaign.status = status
    return campaign


@transaction.atomic
def campaign_disable(*, campaign: Campaign) -> Campaign:
    """None of the campaign's codes can be used until it is enabled again."""
    return _set_status(campaign, Campaign.Status.DISABLED)


@transaction.atomic
def campaign_enable(*, campaign: Campaign) -> Campaign:
    return _set_status(campaign, Campaign.Status.ACTIVE)


# --- generating --------------------------------------------------------------------------


def campaign_generate_codes(*, campaign_id: int) -> Campaign:
    """Generate the campaign's missing codes, chunk by chunk (see the module docstring).
    Safe to run twice, and at the same time; a done campaign is left alone. When the codes
    cannot be written, the campaign is marked failed with the reason."""
    while True:
        try:
            with transaction.atomic():
                campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
                if campaign.generation_state == Campaign.Generation.DONE:
                    return campaign
                if _generate_chunk(campaign):
                    return campaign
        except GenerationFailed as error:
            return _mark_failed(campaign_id, str(error))


def _generate_all(campaign: Campaign) -> None:
    """Inline generation inside `campaign_create`'s transaction."""
    try:
        while not _generate_chunk(campaign):
            pass
    except GenerationFailed as error:
        raise ValidationError({"template": str(error)}, code="codes_taken") from error


@transaction.atomic
def _mark_failed(campaign_id: int, message: str) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    campaign.generation_state = Campaign.Generation.FAILED
    campaign.generation_error = message
    campaign.save(update_fields=["generation_state", "generation_error"])
    logger.warning("coupon campaign %s: generation failed: %s", campaign.code, message)
    return campaign


def _generate_chunk(campaign: Campaign, *, now: datetime | None = None) -> bool:
    """Write the next chunk of the locked campaign's codes; True when it has them all."""
    missing = campaign.quantity - campaign.generated_count
    size = min(CHUNK, missing)
    if size > 0:
        codes = _next_codes(campaign, size)
        _insert(campaign, codes, now or timezone.now())
        campaign.generated_count += len(codes)
    complete = campaign.generated_count >= campaign.quantity
    campaign.generation_state = (
        Campaign.Generation.DONE if complete else Campaign.Generation.RUNNING
    )
    campaign.generation_error = ""
    campaign.save(update_fields=["generated_count", "generation_state", "generation_error"])
    return complete


def _next_codes(campaign: Campaign, size: int) -> list[str]:
    start = campaign.generated_count
    literal = code_rules.literal_code(campaign.template, campaign.quantity)
    if literal is not None:
        return [literal]
    if campaign.charset == Campaign.Charset.NUMERIC:
        return code_rules.expand_template(
            campaign.template, "numeric", size, campaign.range_start + start
        )
    return code_rules.fresh_codes(campaign.template, size, lambda candidates: ())


def _insert(campaign: Campaign, codes: list[str], now: datetime) -> None:
    """COPY the codes; when some exist already, draw those again (random codes) or give
    up (numeric and literal codes have no other values)."""
    for _attempt in range(MAX_REDRAWS):
        try:
            codes_insert(
                campaign_id=campaign.pk, codes=codes, limit=campaign.redemption_quantity, now=now
            )
            return
        except CodesTaken:
            taken = existing_codes(codes)
            if _sequence(campaign) is not None:
                shown = ", ".join(sorted(taken)[:5])
                raise GenerationFailed(
                    _("These codes exist already in another campaign: %(codes)s.")
                    % {"codes": shown}
                ) from None
            kept = [code for code in codes if code.upper() not in taken]
            codes = kept + code_rules.fresh_codes(
                campaign.template, len(codes) - len(kept), _taken_besides(kept)
            )
    raise GenerationFailed(_("Could not draw codes that do not exist yet; try again."))


def _taken_besides(kept: list[str]):
    """`taken` for redrawing: codes in the database or among those kept in the chunk."""
    batch = {code.upper() for code in kept}

    def taken(candidates: list[str]) -> set[str]:
        return existing_codes(candidates) | {c.upper() for c in candidates} & batch

    return taken


def campaigns_generate_due(*, now: datetime | None = None) -> int:
    """The sweep: finish generation that a lost task left waiting or half done."""
    now = now or timezone.now()
    due = Campaign.objects.filter(
        generation_state__in=[Campaign.Generation.PENDING, Campaign.Generation.RUNNING],
        created_at__lte=now - STALE_AFTER,
    ).values_list("pk", flat=True)
    count = 0
    for campaign_id in list(due):
        campaign_generate_codes(campaign_id=campaign_id)
        count += 1
    return count


# --- the API hook ------------------------------------------------------------------------


@transaction.atomic
def codes_generate(
    *, campaign: Campaign, quantity: int, redemption_limit: int = 1, now: datetime | None = None
) -> list[Code]:
    """`quantity` more unique codes for an alphanumeric campaign, single-use unless
    `redemption_limit` says otherwise (unique codes sent one per person, so they cannot
    be shared). The campaign's quantity grows by as many; the template must keep the
    larger campaign unguessable."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _refuse_more_codes(campaign, quantity, redemption_limit)
    codes = code_rules.fresh_codes(campaign.template, quantity, existing_codes)
    rows = Code.objects.bulk_create(
        [
            Code(campaign=campaign, code=code, redemption_limit=redemption_limit, created_at=now)
            for code in codes
        ]
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        quantity=campaign.quantity + quantity, generated_count=campaign.generated_count + quantity
    )
    return rows


def _refuse_more_codes(campaign: Campaign, quantity: int, redemption_limit: int) -> None:
    if campaign.charset != Campaign.Charset.ALPHANUMERIC or campaign.is_literal:
        raise CouponError(_("Only alphanumeric campaigns can get more codes."))
    if campaign.status != Campaign.Status.ACTIVE:
        raise CouponError(_("This campaign is disabled."))
    if not 1 <= quantity <= API_LIMIT:
        raise CouponError(_("Ask for 1 to %(limit)d codes at a time.") % {"limit": API_LIMIT})
    if redemption_limit < 1:
        raise CouponError(_("Each code must be usable at least once."))
    try:
        code_rules.check_template(campaign.template, "alphanumeric", campaign.quantity + quantity)
    except ValueError as error:
        raise CouponError(str(error)) from error


@transaction.atomic
def codes_generate_later(*, campaign: Campaign, quantity: int) -> Campaign:
    """`quantity` more unique codes for an alphanumeric campaign, generated by the
    campaign's own task (the bulk path: chunks, progress in `generated_count`, resumed
    by the sweep), for requests too large to answer at once. The codes take the
    campaign's redemption quantity. Checked like `codes_generate`; the campaign's
    quantity grows now, so concurrent requests each get their own codes."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _refuse_more_codes(campaign, quantity, campaign.redemption_quantity)
    campaign.quantity += quantity
    campaign.generation_state = Campaign.Generation.PENDING
    campaign.save(update_fields=["quantity", "generation_state"])
    pk = campaign.pk
    transaction.on_commit(lambda: async_task("coupons.tasks.generate_codes", pk))
    return campaign
