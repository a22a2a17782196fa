"""Benchmark `coupons`: generate and store N random alphanumeric codes (issue 6: 1,000,000
in under 20 s, within 2x of a hand-written COPY of the same rows in the same run).

Measured: the real service path of a large campaign, `campaign_create` (checks, the
campaign row, the task queued) and `campaign_generate_codes` (what the task runs: codes
drawn in chunks, each chunk COPYed in its own transaction with the progress count).
Baseline: N codes of the same shape drawn beforehand (untimed), then the same rows
written by one hand-written COPY in one transaction (timed), then removed again.
``peak_mb``: tracemalloc's peak of a separate, untimed generation of one chunk's worth.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from bench.harness import log, measure, tracemalloc_peak_mb
from coupons import codes as code_rules
from coupons.models import Campaign, Code
from coupons.services import campaign_create, campaign_generate_codes
from coupons.services.campaigns import CHUNK
from tests.factories import BundleFactory

DEFAULT_SCALE = 1_000_000
VALID_FROM = datetime(2027, 1, 1, tzinfo=UTC)


def _template(scale: int) -> str:
    places = code_rules.min_alphanumeric_placeholders(scale)
    return "BENCH-" + "#" * places


def _campaign(bundle, code: str, template: str, quantity: int) -> Campaign:
    return campaign_create(
        name=code, code=code, bundle=bundle, template=template, valid_from=VALID_FROM,
        quantity=quantity, discount_type="percent", discount_percent=Decimal(20),
    )  # fmt: skip


def _copy_baseline(campaign: Campaign, codes: list[str]) -> float:
    now = timezone.now()
    sql = (
        "COPY coupons_code (campaign_id, code, redemption_limit, redeemed_count, disabled,"
        " created_at) FROM STDIN"
    )
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as wrapper, wrapper.cursor.copy(sql) as copy:
        for code in codes:
            copy.write_row((campaign.pk, code, 1, 0, False, now))
    seconds = time.perf_counter() - start
    Code.objects.filter(campaign=campaign).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE coupons_code")
    return seconds


def run(scale: int) -> dict:
    bundle = BundleFactory()
    template = _template(scale)
    log(f"template {template}")
    baseline_campaign = Campaign.objects.create(
        name="baseline", code="baseline", bundle=bundle, template="BASE-" + template[6:],
        valid_from=VALID_FROM, quantity=scale, discount_type="percent",
        discount_percent=Decimal(20), generation_state=Campaign.Generation.DONE,
    )  # fmt: skip
    codes = code_rules.expand_template(baseline_campaign.template, "alphanumeric", scale)
    baseline = _copy_baseline(baseline_campaign, codes)
    del codes
    log(f"baseline COPY of {scale} rows: {baseline:.2f} s")

    def generate() -> Campaign:
        campaign = _campaign(bundle, "bench", template, scale)
        return campaign_generate_codes(campaign_id=campaign.pk)

    result = measure(generate)
    stored = Code.objects.filter(campaign=result.result).count()
    if not result.result.generated_count == scale == stored:
        raise RuntimeError(f"generated {stored} of {scale} codes")
    log(f"service: {result.seconds:.2f} s, {result.queries} queries")
    size = min(scale, CHUNK)
    peak = tracemalloc_peak_mb(
        lambda: campaign_generate_codes(
            campaign_id=_campaign(bundle, "peak", "PEAK-" + template[6:], size).pk
        )
    )
    return {
        "seconds": result.seconds,
        "baseline_seconds": baseline,
        "queries": result.queries,
        "peak_mb": peak,
    }
