"""The integration API's coupon campaigns and codes: create a campaign, generate unique
single-use codes for it (e.g. one per customer of a mailing), list and look up codes,
disable and enable. Campaigns are addressed by their campaign code, codes by the code
itself (both unique). Validating and redeeming a code need a purchase and live in
subscriptions/api.py (this app does not know customers, ADR 0002)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from api.auth import scope
from api.pagination import PageParams, cursor_page, page_of
from api.problems import Problem, register_problem
from api.schemas import Money, Timestamp, money, text
from catalog.models import Bundle, Product
from coupons.exceptions import CouponError, CouponRefused
from coupons.models import Campaign, Code
from coupons.selectors import campaign_summary, code_status_q, codes_matching
from coupons.services import (
    campaign_create,
    campaign_disable,
    campaign_enable,
    code_lookup,
    codes_generate,
    codes_generate_later,
)
from coupons.services.campaigns import INLINE_LIMIT
from security.throttle import Kind, client_for_api_key, guard

router = Router(tags=["coupons"])

register_problem(CouponRefused, status=422, code=lambda e: f"coupon_{e.reason}")
register_problem(CouponError, status=409, code="coupon_refused")


# --- schemas ---------------------------------------------------------------------------


class Discount(Schema):
    type: str = Field(..., description='"percent", "amount", or "" for vouchers.')
    percent: str | None
    amount: Money | None


class Generation(Schema):
    state: str = Field(..., description="pending, running, done or failed")
    generated: int
    quantity: int
    percent: int
    error: str


class Summary(Schema):
    codes: int
    redeemed: int
    remaining: int
    used_up: int
    disabled: int
    expired: int


class CampaignOut(Schema):
    code: str
    name: str
    description: str
    provider: str
    kind: str
    charset: str
    template: str
    quantity: int
    redemption_quantity: int
    range_start: int
    bundle: str
    discount: Discount
    discounted_products: list[str]
    free_periods: int | None
    valid_from: Timestamp
    valid_until: Timestamp | None
    status: str
    generation: Generation
    summary: Summary | None = None
    created_at: Timestamp


class CampaignIn(Schema):
    code: text(64, 1) = Field(..., description="Lower-case letters, digits, - and _.")
    name: text(200, 1)
    description: text(2000) = ""
    provider: text(200) = ""
    kind: Literal["coupon", "voucher"] = "coupon"
    charset: Literal["numeric", "alphanumeric"] = "alphanumeric"
    template: text(64, 1) = Field(..., examples=["SPRING-########"])
    quantity: int = Field(1, ge=1, le=1_000_000)
    redemption_quantity: int = Field(1, ge=1, le=1_000_000)
    range_start: int = Field(0, ge=0, le=10**15)
    bundle: text(64, 1) = Field(..., description="The bundle's code.")
    valid_from: Timestamp | None = Field(None, description="Default: now.")
    valid_until: Timestamp | None = None
    discount_type: Literal["percent", "amount", ""] = ""
    discount_percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    discount_amount: Decimal | None = Field(
        None, ge=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2
    )
    currency: text(3, 3) | None = None
    discounted_products: list[text(64, 1)] = Field([], max_length=100)
    free_periods: int | None = Field(None, ge=0, le=32767)


class CampaignFilters(Schema):
    kind: Literal["coupon", "voucher"] | None = None
    status: Literal["active", "disabled"] | None = None


class GenerateIn(Schema):
    quantity: int = Field(..., ge=1, le=10_000, description="Up to 10,000 a request.")
    redemption_limit: int = Field(1, ge=1, le=1_000_000, description="1: single-use codes.")


class GeneratedOut(Schema):
    campaign: str
    count: int
    codes: list[str]


class GenerationQueuedOut(Schema):
    campaign: CampaignOut
    status_url: str = Field(..., description="Poll until generation.state is done.")


class CodeOut(Schema):
    code: str
    campaign: str
    status: str
    redemption_limit: int
    redeemed: int
    remaining: int
    disabled: bool
    created_at: Timestamp


class CodeFilters(Schema):
    status: Literal["active", "used_up", "disabled", "expired", "not_yet_valid"] | None = None
    search: text(64) | None = Field(None, description="The code or its beginning.")


# --- helpers ---------------------------------------------------------------------------


def _campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("bundle").prefetch_related("discounted_products")


def _campaign(code: str) -> Campaign:
    return get_object_or_404(_campaigns(), code=code)


def campaign_out(campaign: Campaign, *, summary: bool = False) -> CampaignOut:
    return CampaignOut(
        code=campaign.code,
        name=campaign.name,
        description=campaign.description,
        provider=campaign.provider,
        kind=campaign.kind,
        charset=campaign.charset,
        template=campaign.template,
        quantity=campaign.quantity,
        redemption_quantity=campaign.redemption_quantity,
        range_start=campaign.range_start,
        bundle=campaign.bundle.code,
        discount=Discount(
            type=campaign.discount_type,
            percent=str(campaign.discount_percent) if campaign.discount_percent else None,
            amount=money(campaign.discount_amount, campaign.currency),
        ),
        discounted_products=sorted(p.code for p in campaign.discounted_products.all()),
        free_periods=campaign.free_periods,
        valid_from=campaign.valid_from,
        valid_until=campaign.valid_until,
        status=campaign.status,
        generation=Generation(
            state=campaign.generation_state,
            generated=campaign.generated_count,
            quantity=campaign.quantity,
            percent=campaign.generation_percent,
            error=campaign.generation_error,
        ),
        summary=(
            Summary(**vars(campaign_summary(campaign=campaign, now=timezone.now())))
            if summary
            else None
        ),
        created_at=campaign.created_at,
    )


def _code_out(code: Code, now) -> CodeOut:
    return CodeOut(
        code=code.code,
        campaign=code.campaign.code,
        status=code.status_at(now),
        redemption_limit=code.redemption_limit,
        redeemed=code.redeemed_count,
        remaining=code.remaining,
        disabled=code.disabled,
        created_at=code.created_at,
    )


def _reference(model, field: str, code: str):
    found = model.objects.filter(code=code).first()
    if found is None:
        raise Problem(422, "unknown_reference", f"No such {field}: {code}.", field=f"body.{field}")
    return found


# --- campaigns -------------------------------------------------------------------------

CAMPAIGN = "/coupon-campaigns/{campaign_code}"


@router.get("/coupon-campaigns", response=page_of(CampaignOut, "CampaignPage"),
            auth=scope("read"))  # fmt: skip
def campaign_list(request, filters: Query[CampaignFilters], page: Query[PageParams]):
    campaigns = _campaigns()
    if filters.kind:
        campaigns = campaigns.filter(kind=filters.kind)
    if filters.status:
        campaigns = campaigns.filter(status=filters.status)
    items, cursor = cursor_page(campaigns, page)
    return {"items": [campaign_out(c) for c in items], "next_cursor": cursor}


@router.post("/coupon-campaigns", response={201: CampaignOut}, auth=scope("coupons"))
def campaign_post(request, body: CampaignIn):
    """Create a campaign. Up to 1,000 codes are generated at once; more by a task
    (`generation` shows the progress on GET)."""
    products = [_reference(Product, "discounted_products", c) for c in body.discounted_products]
    campaign = campaign_create(
        **body.model_dump(exclude={"bundle", "discounted_products", "valid_from"}),
        bundle=_reference(Bundle, "bundle", body.bundle),
        valid_from=body.valid_from or timezone.now(),
        discounted_products=products,
    )
    return Status(201, campaign_out(_campaign(campaign.code)))


@router.get(CAMPAIGN, response=CampaignOut, auth=scope("read"))
def campaign_get(request, campaign_code: text(64, 1)):
    """A campaign with its figures and the progress of its code generation."""
    return campaign_out(_campaign(campaign_code), summary=True)


@router.post(CAMPAIGN + "/disable", response=CampaignOut, auth=scope("coupons"))
def campaign_disable_post(request, campaign_code: text(64, 1)):
    """None of the campaign's codes can be used until it is enabled again."""
    campaign_disable(campaign=_campaign(campaign_code))
    return campaign_out(_campaign(campaign_code))


@router.post(CAMPAIGN + "/enable", response=CampaignOut, auth=scope("coupons"))
def campaign_enable_post(request, campaign_code: text(64, 1)):
    campaign_enable(campaign=_campaign(campaign_code))
    return campaign_out(_campaign(campaign_code))


# --- codes -----------------------------------------------------------------------------


@router.post(
    CAMPAIGN + "/codes",
    response={201: GeneratedOut, 202: GenerationQueuedOut},
    auth=scope("coupons"),
)
def codes_post(request, campaign_code: text(64, 1), body: GenerateIn):
    """Generate `quantity` more unique codes for an alphanumeric campaign, single-use
    unless `redemption_limit` says otherwise. Up to 1,000 are made at once and returned
    (201); more are made by a task (202, poll `status_url`; then list the codes), and take
    the campaign's redemption quantity."""
    campaign = _campaign(campaign_code)
    if body.quantity <= INLINE_LIMIT:
        codes = codes_generate(
            campaign=campaign, quantity=body.quantity, redemption_limit=body.redemption_limit
        )
        return Status(
            201,
            GeneratedOut(campaign=campaign.code, count=len(codes), codes=[c.code for c in codes]),
        )
    if body.redemption_limit != campaign.redemption_quantity:
        raise Problem(
            422, "invalid_request",
            f"More than {INLINE_LIMIT} codes at a time take the campaign's redemption "
            f"quantity ({campaign.redemption_quantity}).",
            field="body.redemption_limit",
        )  # fmt: skip
    codes_generate_later(campaign=campaign, quantity=body.quantity)
    url = request.build_absolute_uri(f"/api/v1/coupon-campaigns/{campaign.code}")
    response_body = GenerationQueuedOut(campaign=campaign_out(_campaign(campaign.code)),
                                        status_url=url)  # fmt: skip
    return Status(202, response_body)


@router.get(CAMPAIGN + "/codes", response=page_of(CodeOut, "CodePage"), auth=scope("read"))
def code_list(
    request, campaign_code: text(64, 1), filters: Query[CodeFilters], page: Query[PageParams]
):
    campaign = _campaign(campaign_code)
    now = timezone.now()
    codes = Code.objects.filter(campaign=campaign).select_related("campaign")
    if filters.status:
        codes = codes.filter(code_status_q(filters.status, now=now))
    if filters.search:
        codes = codes_matching(codes, filters.search)
    items, cursor = cursor_page(codes, page)
    return {"items": [_code_out(code, now) for code in items], "next_cursor": cursor}


@router.get("/coupon-codes/{code}", response=CodeOut, auth=scope("read"))
def code_get(request, code: text(64, 1)):
    """A code as customers type it (any case), with its status and what is left. An
    unknown code counts against the API key like a wrong code at validate (else this
    lookup would be the unthrottled way to guess codes)."""
    with guard(kind=Kind.COUPON, client=client_for_api_key(request.auth.pk)) as attempt:
        found = code_lookup(code=code)
        if found is not None:
            attempt.success()
    if found is None:
        raise Problem(404, "not_found", "No such code.")
    return _code_out(found, timezone.now())
