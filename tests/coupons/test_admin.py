"""The coupons admin: campaign pages with figures and progress, the code list (fixed
queries, search, status filter), enable / disable, the CSV export, staff roles."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from coupons.models import Campaign, Code
from subscriptions.roles import CATALOG_MANAGER, CUSTOMER_SUPPORT
from tests.coupons.factories import make_campaign
from tests.factories import BundleFactory

pytestmark = pytest.mark.django_db

CODES = reverse("admin:coupons_code_changelist")
EXPORT = reverse("admin:coupons_code_export")


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def _role_user(django_user_model, role: str):
    user = django_user_model.objects.create_user(
        email=f"{role.replace(' ', '-').lower()}@kontor.example", password="pw-1", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def _rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:coupons_campaign_changelist"),
        reverse("admin:coupons_campaign_add"),
        CODES,
    ],
)
def test_the_list_and_add_pages_open(staff, url):
    make_campaign()

    assert staff.get(url).status_code == 200


def test_staff_create_a_campaign_and_it_has_its_codes_at_once(staff):
    bundle = BundleFactory()

    response = staff.post(
        reverse("admin:coupons_campaign_add"),
        {
            "name": "Seed example",
            "code": "seed-example",
            "kind": "coupon",
            "charset": "numeric",
            "template": "coupon_##",
            "quantity": "5",
            "redemption_quantity": "1",
            "range_start": "87",
            "bundle": bundle.pk,
            "discount_type": "percent",
            "discount_percent": "20",
            "currency": "EUR",
            "valid_from_0": "2027-01-01",
            "valid_from_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = Campaign.objects.get()
    assert campaign.generation_state == "done"
    assert sorted(Code.objects.values_list("code", flat=True)) == [
        f"coupon_{n}" for n in range(87, 92)
    ]


def test_a_campaign_that_does_not_fit_shows_the_reason_on_the_template_and_saves_nothing(staff):
    make_campaign(template="coupon_90", quantity=1)
    response = staff.post(
        reverse("admin:coupons_campaign_add"),
        {
            "name": "Clash",
            "code": "clash",
            "kind": "coupon",
            "charset": "numeric",
            "template": "coupon_##",
            "quantity": "5",
            "redemption_quantity": "1",
            "range_start": "87",
            "bundle": BundleFactory().pk,
            "discount_type": "percent",
            "discount_percent": "20",
            "currency": "EUR",
            "valid_from_0": "2027-01-01",
            "valid_from_1": "00:00:00",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["template"] == ["1 of these codes exist already: COUPON_90."]
    assert Campaign.objects.count() == 1


def test_the_campaign_page_shows_its_figures(staff):
    campaign = make_campaign(template="FIG-######", quantity=4, redemption_quantity=3)
    first, second, third, _fourth = Code.objects.filter(campaign=campaign)
    Code.objects.filter(pk=first.pk).update(redeemed_count=3)
    Code.objects.filter(pk=second.pk).update(redeemed_count=1)
    Code.objects.filter(pk=third.pk).update(disabled=True)

    response = staff.get(reverse("admin:coupons_campaign_change", args=[campaign.pk]))

    summary = response.context["summary"]
    assert (summary.codes, summary.redeemed, summary.remaining) == (4, 4, 5)
    assert (summary.used_up, summary.disabled, summary.expired) == (1, 1, 0)
    assert b"4 codes generated." in response.content


def test_a_large_campaign_shows_its_progress_and_the_fragment_polls(
    staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        campaign = make_campaign(template="BIG-########", quantity=1001)

    page = staff.get(reverse("admin:coupons_campaign_change", args=[campaign.pk]))
    fragment = staff.get(reverse("admin:coupons_campaign_progress", args=[campaign.pk]))

    assert b'<progress max="1001" value="0">' in page.content
    assert b'hx-trigger="every 2s"' in fragment.content
    Campaign.objects.filter(pk=campaign.pk).update(generated_count=1001, generation_state="done")
    done = staff.get(reverse("admin:coupons_campaign_progress", args=[campaign.pk]))
    assert b"hx-trigger" not in done.content
    assert b"1001 codes generated." in done.content


def test_disabling_a_campaign_from_its_page(staff):
    campaign = make_campaign()

    response = staff.post(reverse("admin:coupons_campaign_status", args=[campaign.pk, "disabled"]))

    assert response.status_code == 302
    assert Campaign.objects.get().status == "disabled"
    staff.post(reverse("admin:coupons_campaign_status", args=[campaign.pk, "active"]))
    assert Campaign.objects.get().status == "active"


def test_the_campaign_list_actions_disable_and_enable(staff):
    campaigns = [make_campaign(), make_campaign()]
    url = reverse("admin:coupons_campaign_changelist")
    ids = [c.pk for c in campaigns]

    staff.post(url, {"action": "disable_selected", "_selected_action": ids})
    assert set(Campaign.objects.values_list("status", flat=True)) == {"disabled"}
    staff.post(url, {"action": "enable_selected", "_selected_action": ids})
    assert set(Campaign.objects.values_list("status", flat=True)) == {"active"}


@pytest.mark.parametrize("codes", [3, 60])
def test_the_code_list_takes_the_same_queries_whatever_its_size(
    staff, django_assert_num_queries, codes
):
    make_campaign(template="Q-######", quantity=codes)
    make_campaign(template="R-######", quantity=2)

    # session, user, the page count, the codes with their campaigns, the campaign filter
    with django_assert_num_queries(6):  # 5 + the verified TOTP device
        response = staff.get(CODES)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == codes + 2


def test_the_code_list_searches_by_code_in_any_case(staff):
    make_campaign(template="XYZ-COMPANY", quantity=1)
    make_campaign(template="OTHER-######", quantity=3)

    response = staff.get(CODES, {"q": " xyz-comp"})

    assert [c.code for c in response.context["cl"].result_list] == ["XYZ-COMPANY"]


def test_the_code_list_filters_by_status(staff):
    campaign = make_campaign(template="S-######", quantity=3)
    used, disabled, _active = Code.objects.filter(campaign=campaign)
    Code.objects.filter(pk=used.pk).update(redeemed_count=1)
    Code.objects.filter(pk=disabled.pk).update(disabled=True)

    def listed(status):
        response = staff.get(CODES, {"status": status})
        return {c.pk for c in response.context["cl"].result_list}

    assert listed("used_up") == {used.pk}
    assert listed("disabled") == {disabled.pk}
    assert listed("active") == {_active.pk}
    assert listed("expired") == set()


def test_codes_are_disabled_and_enabled_by_the_list_actions(staff):
    campaign = make_campaign(quantity=3)
    ids = list(Code.objects.filter(campaign=campaign).values_list("pk", flat=True))

    staff.post(CODES, {"action": "disable_selected", "_selected_action": ids[:2]})

    assert list(Code.objects.order_by("id").values_list("disabled", flat=True)) == [
        True,
        True,
        False,
    ]
    staff.post(CODES, {"action": "enable_selected", "_selected_action": ids[:1]})
    assert Code.objects.filter(disabled=True).count() == 1


def test_the_export_lists_the_filtered_codes_and_defuses_formulas(staff):
    campaign = make_campaign(code="mailing", template="=HYPERLINK", quantity=1,
                             redemption_quantity=3)  # fmt: skip
    make_campaign(template="NOT-IN-EXPORT", quantity=1)
    Code.objects.filter(campaign=campaign).update(redeemed_count=1)

    response = staff.get(EXPORT, {"campaign__id__exact": campaign.pk})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert _rows(response) == [
        ["Code", "Campaign", "Status", "Remaining redemptions", "Redemption limit", "Redeemed"],
        ["'=HYPERLINK", "mailing", "Active", "2", "3", "1"],
    ]


def test_a_catalog_manager_manages_coupons(client, django_user_model):
    client.force_login(_role_user(django_user_model, CATALOG_MANAGER))
    campaign = make_campaign(quantity=2)

    assert client.get(reverse("admin:coupons_campaign_add")).status_code == 200
    client.post(reverse("admin:coupons_campaign_status", args=[campaign.pk, "disabled"]))
    ids = list(Code.objects.values_list("pk", flat=True))
    client.post(CODES, {"action": "disable_selected", "_selected_action": ids})

    assert Campaign.objects.get().status == "disabled"
    assert Code.objects.filter(disabled=True).count() == 2


def test_customer_support_sees_coupons_but_changes_nothing(client, django_user_model):
    client.force_login(_role_user(django_user_model, CUSTOMER_SUPPORT))
    campaign = make_campaign(quantity=2)
    ids = list(Code.objects.values_list("pk", flat=True))

    assert (
        client.get(reverse("admin:coupons_campaign_change", args=[campaign.pk])).status_code == 200
    )
    assert client.get(CODES).status_code == 200
    assert client.get(EXPORT).status_code == 200
    assert client.get(reverse("admin:coupons_campaign_add")).status_code == 403
    response = client.post(reverse("admin:coupons_campaign_status", args=[campaign.pk, "disabled"]))
    client.post(CODES, {"action": "disable_selected", "_selected_action": ids})

    assert response.status_code == 403
    assert Campaign.objects.get().status == "active"
    assert Code.objects.filter(disabled=True).count() == 0


def test_staff_edit_a_campaign_through_the_update_service(staff):
    campaign = make_campaign(template="EDIT-######", quantity=2)
    url = reverse("admin:coupons_campaign_change", args=[campaign.pk])
    form = staff.get(url).context["adminform"].form
    data = {
        name: form[name].value() if form[name].value() is not None else ""
        for name in form.fields
        if name != "discounted_products"
    }
    data.update(
        name="Renamed",
        discount_percent="35",
        valid_from_0="2026-01-01",
        valid_from_1="00:00:00",
        valid_until_0="",
        valid_until_1="",
    )

    response = staff.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = Campaign.objects.get()
    assert (stored.name, str(stored.discount_percent)) == ("Renamed", "35.00")
    assert stored.template == "EDIT-######"


def test_a_code_page_opens_read_only(staff):
    make_campaign(quantity=1)
    code = Code.objects.get()

    response = staff.get(reverse("admin:coupons_code_change", args=[code.pk]))

    assert response.status_code == 200
    assert code.code.encode() in response.content
    assert b'name="_save"' not in response.content
