"""Creating campaigns and generating their codes (coupons.services.campaigns)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from coupons import codes as code_rules
from coupons.exceptions import CouponError
from coupons.models import Campaign, Code
from coupons.services import campaign_generate_codes, campaign_update, codes_generate
from coupons.services import campaigns as campaign_services
from tests.coupons.factories import make_campaign
from tests.factories import BundleFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _codes(campaign) -> list[str]:
    return list(
        Code.objects.filter(campaign=campaign).order_by("id").values_list("code", flat=True)
    )


def test_the_seed_example_creates_coupon_87_to_coupon_91_at_once():
    campaign = make_campaign(
        charset="numeric", template="coupon_##", quantity=5, redemption_quantity=1, range_start=87
    )

    assert _codes(campaign) == ["coupon_87", "coupon_88", "coupon_89", "coupon_90", "coupon_91"]
    campaign.refresh_from_db()
    assert campaign.generation_state == "done"
    assert campaign.generated_count == 5
    assert set(Code.objects.values_list("redemption_limit", "redeemed_count")) == {(1, 0)}


def test_a_shared_code_is_a_template_without_placeholders_used_n_times():
    campaign = make_campaign(template="XYZ-COMPANY", quantity=1, redemption_quantity=50)

    assert _codes(campaign) == ["XYZ-COMPANY"]
    assert Code.objects.get().redemption_limit == 50


def test_random_codes_are_unique_and_follow_the_template():
    campaign = make_campaign(template="SPRING-######", quantity=200)

    codes = _codes(campaign)
    assert len(set(codes)) == 200
    assert all(code.startswith("SPRING-") and len(code) == 13 for code in codes)


def _refused(field: str, **values) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        make_campaign(**values)
    assert field in caught.value.message_dict, caught.value.message_dict
    return caught.value


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("template", {"charset": "numeric", "template": "coupon_##", "range_start": 96}),
        ("template", {"template": "X-###", "quantity": 1}),
        ("template", {"template": "X-#####", "quantity": 1000}),
        ("template", {"template": "NO-PLACEHOLDER", "quantity": 2}),
        ("template", {"template": "SPRING ######"}),
        ("discount_type", {"discount_type": "", "discount_percent": None}),
        ("discount_percent", {"discount_percent": Decimal("100.01")}),
        ("discount_amount", {"discount_type": "amount", "discount_amount": Decimal("1.005")}),
        ("free_periods", {"kind": "voucher", "free_periods": None}),
        ("discount_percent", {"kind": "voucher", "discount_percent": Decimal(10)}),
        ("valid_until", {"valid_until": make_campaign.__globals__["VALID_FROM"]}),
        ("quantity", {"quantity": 0}),
    ],
)
def test_a_campaign_that_cannot_work_is_refused_and_nothing_is_written(field, values):
    bundle = BundleFactory()

    _refused(field, bundle=bundle, **values)

    assert Campaign.objects.count() == 0
    assert Code.objects.count() == 0


def test_discounted_products_must_belong_to_the_bundle():
    bundle = BundleFactory()
    stranger = ProductFactory(name="Stranger")

    error = _refused("discounted_products", bundle=bundle, discounted_products=[stranger])

    assert "Stranger" in str(error)
    assert Campaign.objects.count() == 0


def test_the_discount_can_target_products_of_the_bundle():
    product = ProductFactory()
    campaign = make_campaign(bundle=BundleFactory(products=[product, ProductFactory()]),
                             discounted_products=[product])  # fmt: skip

    assert list(campaign.discounted_products.all()) == [product]


def test_numeric_codes_taken_by_another_campaign_refuse_the_campaign_before_writing():
    make_campaign(charset="numeric", template="coupon_##", quantity=5, range_start=87)

    error = _refused(
        "template", charset="numeric", template="COUPON_##", quantity=10, range_start=80
    )

    assert "3 of these codes exist already: COUPON_87, COUPON_88, COUPON_89" in str(error)
    assert Campaign.objects.count() == 1
    assert Code.objects.count() == 5


def test_a_campaign_code_is_unique_and_lower_case():
    make_campaign(code="Spring")

    _refused("code", code="spring")

    assert Campaign.objects.get().code == "spring"


def test_a_large_campaign_is_generated_by_the_task_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(campaign_services, "CHUNK", 400)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        campaign = make_campaign(charset="numeric", template="N-####", quantity=1500)
    assert Code.objects.count() == 0
    assert Campaign.objects.get().generation_state == "pending"

    for callback in callbacks:
        callback()  # the task, run synchronously (Conf.SYNC)

    campaign.refresh_from_db()
    assert (campaign.generation_state, campaign.generated_count) == ("done", 1500)
    assert _codes(campaign) == [f"N-{n:04d}" for n in range(1500)]


def test_generating_twice_changes_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = make_campaign(template="BIG-########", quantity=1200)
    before = _codes(campaign)

    campaign_generate_codes(campaign_id=campaign.pk)
    campaign_generate_codes(campaign_id=campaign.pk)

    assert _codes(campaign) == before
    assert len(set(before)) == 1200


def test_a_run_that_died_half_way_resumes_without_duplicates(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(campaign_services, "CHUNK", 500)
    with django_capture_on_commit_callbacks(execute=False):
        campaign = make_campaign(charset="numeric", template="R-####", quantity=1200)
    real_chunk = campaign_services._generate_chunk
    calls = []

    def dying_chunk(campaign, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_chunk(campaign, **kwargs)

    monkeypatch.setattr(campaign_services, "_generate_chunk", dying_chunk)
    with pytest.raises(RuntimeError):
        campaign_generate_codes(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert (campaign.generation_state, campaign.generated_count) == ("running", 500)
    assert Code.objects.filter(campaign=campaign).count() == 500

    campaign_generate_codes(campaign_id=campaign.pk)

    campaign.refresh_from_db()
    assert (campaign.generation_state, campaign.generated_count) == ("done", 1200)
    assert _codes(campaign) == [f"R-{n:04d}" for n in range(1200)]


def test_numeric_codes_taken_while_waiting_for_the_task_fail_the_campaign(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        campaign = make_campaign(charset="numeric", template="W-####", quantity=1001)
    make_campaign(template="W-0005", quantity=1)

    for callback in callbacks:
        callback()

    campaign.refresh_from_db()
    assert campaign.generation_state == "failed"
    assert "W-0005" in campaign.generation_error
    assert Code.objects.filter(campaign=campaign).count() == 0


def test_random_codes_that_collide_with_existing_ones_are_drawn_again(monkeypatch):
    make_campaign(template="T-22222222", quantity=1)
    real = code_rules.secrets.token_bytes
    draws = []

    def first_draw_all_twos(n):
        draws.append(n)
        return bytes(n) if len(draws) == 1 else real(n)  # byte 0 is "2"

    monkeypatch.setattr(code_rules.secrets, "token_bytes", first_draw_all_twos)

    campaign = make_campaign(template="T-########", quantity=3)

    codes = _codes(campaign)
    assert len(set(codes)) == 3
    assert "T-22222222" not in codes
    assert Code.objects.count() == 4


def test_the_api_hook_adds_unique_single_use_codes():
    campaign = make_campaign(template="API-########", quantity=2, redemption_quantity=5)

    made = codes_generate(campaign=campaign, quantity=3)

    assert [code.redemption_limit for code in made] == [1, 1, 1]
    assert Code.objects.filter(campaign=campaign).count() == 5
    campaign.refresh_from_db()
    assert (campaign.quantity, campaign.generated_count) == (5, 5)


@pytest.mark.parametrize(
    ("values", "quantity", "message"),
    [
        ({"charset": "numeric", "template": "N##"}, 1, "Only alphanumeric"),
        ({"template": "A-####", "quantity": 1}, 1, "unguessable"),
        ({}, 10_001, "1 to 10000"),
    ],
)
def test_the_api_hook_refuses_what_it_cannot_make(values, quantity, message):
    campaign = make_campaign(**values)
    before = Code.objects.count()

    with pytest.raises(CouponError, match=message):
        codes_generate(campaign=campaign, quantity=quantity)

    assert Code.objects.count() == before


def test_staff_change_the_name_and_discount_but_not_the_codes_shape():
    campaign = make_campaign(template="KEEP-######")
    campaign.name = "Renamed"
    campaign.discount_percent = Decimal(50)
    campaign.template = "CHANGED-######"

    campaign_update(campaign=campaign)

    stored = Campaign.objects.get()
    assert (stored.name, stored.discount_percent, stored.template) == (
        "Renamed",
        Decimal(50),
        "KEEP-######",
    )


def test_a_change_that_breaks_a_rule_is_refused():
    campaign = make_campaign()
    campaign.discount_percent = Decimal(0)

    with pytest.raises(ValidationError):
        campaign_update(campaign=campaign)

    assert Campaign.objects.get().discount_percent == Decimal(20)
