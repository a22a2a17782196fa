"""The demo campaigns, the tasks and the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.demo import seed_catalog
from coupons.demo import seed_coupons
from coupons.models import Campaign, Code
from coupons.services import campaigns_generate_due
from coupons.tasks import generate_codes
from notifications.scheduling import PeriodicTask, declared_tasks
from tests.coupons.factories import make_campaign

pytestmark = pytest.mark.django_db


def test_the_demo_campaigns_are_created_once():
    seed_catalog()

    first = seed_coupons()
    second = seed_coupons()

    assert (first["created"], second["created"], second["unchanged"]) == (3, 0, 3)
    assert sorted(
        Code.objects.filter(campaign__code="coupon-87").values_list("code", flat=True)
    ) == [f"coupon_{n}" for n in range(87, 92)]
    shared = Code.objects.get(campaign__code="xyz-company")
    assert (shared.code, shared.redemption_limit) == ("XYZ-COMPANY", 50)
    assert Code.objects.filter(campaign__code="welcome-gift").count() == 20
    assert Campaign.objects.get(code="coupon-87").discounted_products.get().code == "tb-archive"


def test_the_task_is_safe_to_run_on_a_done_campaign():
    campaign = make_campaign(quantity=3)

    assert generate_codes(campaign.pk) == 3
    assert Code.objects.filter(campaign=campaign).count() == 3


def test_the_sweep_finishes_generation_a_lost_task_left_undone(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the task is lost
        campaign = make_campaign(template="LOST-########", quantity=1001)

    assert campaigns_generate_due() == 0  # too fresh: its task may still come
    later = timezone.now() + timedelta(minutes=11)
    assert campaigns_generate_due(now=later) == 1

    campaign.refresh_from_db()
    assert (campaign.generation_state, campaign.generated_count) == ("done", 1001)
    assert campaigns_generate_due(now=later) == 0


def test_the_sweep_is_declared_as_a_schedule():
    assert PeriodicTask("coupons.generate_due", "coupons.tasks.generate_due", 5) in declared_tasks()
