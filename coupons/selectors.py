"""Reads for the merchant backend: a campaign's figures, codes by computed status, and
the rows of a codes export. Staff only (the admin checks the permissions)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Upper

from coupons.codes import normalize
from coupons.models import Campaign, Code, CodeStatus, code_status


def code_status_q(status: str, *, now: datetime) -> Q:
    """Codes whose computed status (`Code.status_at`) is `status`, as a filter."""
    disabled = Q(disabled=True) | Q(campaign__status=Campaign.Status.DISABLED)
    used_up = Q(redeemed_count__gte=F("redemption_limit"))
    expired = Q(campaign__valid_until__lte=now)
    not_yet = Q(campaign__valid_from__gt=now)
    if status == CodeStatus.DISABLED:
        return disabled
    if status == CodeStatus.USED_UP:
        return ~disabled & used_up
    if status == CodeStatus.EXPIRED:
        return ~disabled & ~used_up & expired
    if status == CodeStatus.NOT_YET_VALID:
        return ~disabled & ~used_up & not_yet
    if status == CodeStatus.ACTIVE:
        return ~disabled & ~used_up & ~expired & ~not_yet
    raise ValueError(f"Unknown code status {status!r}.")


def codes_matching(queryset: QuerySet[Code], term: str) -> QuerySet[Code]:
    """Codes that are or start with `term` (any case). The whole code is answered by the
    unique index on upper(code)."""
    wanted = normalize(term)
    if not wanted:
        return queryset
    return queryset.alias(upper=Upper("code")).filter(Q(upper=wanted) | Q(upper__startswith=wanted))


@dataclass(frozen=True)
class CampaignSummary:
    codes: int
    redeemed: int
    remaining: int
    used_up: int
    disabled: int
    expired: int


def campaign_summary(*, campaign: Campaign, now: datetime) -> CampaignSummary:
    """The figures on the campaign page, in one query over its codes."""
    campaign_off = campaign.status == Campaign.Status.DISABLED
    expired = campaign.valid_until is not None and now >= campaign.valid_until
    used_up = Q(redeemed_count__gte=F("redemption_limit"))
    figures = Code.objects.filter(campaign=campaign).aggregate(
        codes=Count("id"),
        redeemed=Coalesce(Sum("redeemed_count"), 0),
        remaining=Coalesce(
            Sum(F("redemption_limit") - F("redeemed_count"), filter=Q(disabled=False)), 0
        ),
        used_up=Count("id", filter=Q(disabled=False) & used_up),
        disabled=Count("id", filter=Q(disabled=True)),
    )
    if campaign_off:
        figures["disabled"], figures["used_up"] = figures["codes"], 0
    usable = figures["codes"] - figures["disabled"] - figures["used_up"]
    return CampaignSummary(
        codes=figures["codes"],
        redeemed=figures["redeemed"],
        remaining=0 if campaign_off or expired else figures["remaining"],
        used_up=figures["used_up"],
        disabled=figures["disabled"],
        expired=usable if expired else 0,
    )


EXPORT_COLUMNS = ("code", "campaign", "status", "remaining", "redemption_limit", "redeemed")


def code_export_rows(queryset: QuerySet[Code], *, now: datetime) -> Iterator[tuple]:
    """(code, campaign code, status, remaining, limit, redeemed) per code, read in
    chunks (a campaign can hold millions of codes)."""
    labels = dict(CodeStatus.choices)
    campaigns: dict[int, Campaign] = {}
    rows = queryset.order_by("id").values_list(
        "code", "campaign_id", "redemption_limit", "redeemed_count", "disabled"
    )
    for code, campaign_id, limit, redeemed, disabled in rows.iterator(chunk_size=5000):
        campaign = campaigns.get(campaign_id)
        if campaign is None:
            campaign = campaigns[campaign_id] = Campaign.objects.get(pk=campaign_id)
        status = code_status(
            campaign, disabled=disabled, redeemed=redeemed, limit=limit, moment=now
        )
        remaining = max(0, limit - redeemed)
        yield (code, campaign.code, str(labels[status]), remaining, limit, redeemed)
