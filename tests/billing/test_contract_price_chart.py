"""The price chart the corporate contract admin embeds (billing:contract-price-chart)."""

from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing.pricing import PriceSchedule, Tier
from billing.selectors import price_schedule_for_contract
from catalog.models import ContractTier, CorporateContract, Product

pytestmark = pytest.mark.django_db

D = Decimal
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def contract():
    """The seeds' contract: 2.50 EUR per user, 2.00 from the 11th, 1.50 from the 51st
    (graduated), base fee 10.00, at most 100 users."""
    product = Product.objects.create(code="digital", name="Digital edition")
    contract = CorporateContract.objects.create(
        code="acme-digital",
        name="Acme <Digital> & Co",
        product=product,
        currency="EUR",
        base_fee_amount=D("10.00"),
        tier_mode=CorporateContract.TierMode.GRADUATED,
        maximum_users=100,
    )
    # created out of order: the schedule sorts them
    ContractTier.objects.create(contract=contract, up_to=None, unit_amount=D("1.50"))
    ContractTier.objects.create(contract=contract, up_to=50, unit_amount=D("2.00"))
    ContractTier.objects.create(contract=contract, up_to=10, unit_amount=D("2.50"))
    return contract


def url(pk: int) -> str:
    return reverse("billing:contract-price-chart", args=[pk])


def staff_member(django_user_model, *permissions: str):
    user = django_user_model.objects.create_user(
        email=f"staff-{len(permissions)}@kontor.example", password="pw-staff-2", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    return user


@pytest.fixture
def viewer_client(client, django_user_model):
    client.force_login(staff_member(django_user_model, "view_corporatecontract"))
    return client


def parse(response) -> ET.Element:
    assert response["Content-Type"] == "image/svg+xml"
    return ET.fromstring(response.content)  # noqa: S314 - our own output


def texts(root: ET.Element, css_class: str) -> list[str]:
    return [e.text for e in root.iter(f"{SVG}text") if e.get("class") == css_class]


def test_schedule_is_built_from_the_contract_and_its_tiers(contract):
    assert price_schedule_for_contract(contract) == PriceSchedule(
        "per_user",
        (Tier(10, D("2.50")), Tier(50, D("2.00")), Tier(None, D("1.50"))),
        mode="graduated",
        base_fee=D("10.00"),
    )


def test_schedule_of_a_package_contract_counts_packages(contract):
    contract.pricing_strategy = CorporateContract.Strategy.PER_PACKAGE
    contract.package_size = 10
    contract.tier_mode = CorporateContract.TierMode.STAIRSTEP

    schedule = price_schedule_for_contract(contract)

    assert (schedule.strategy, schedule.package_size, schedule.mode) == (
        "per_package",
        10,
        "stairstep",
    )


def test_staff_with_view_permission_gets_the_chart_with_the_contracts_prices(
    viewer_client, contract, django_assert_num_queries
):
    # graduated + base fee 10.00: 10 users 10 + 25.00 = 35.00; 50 users 10 + 25 + 80 =
    # 115.00; 100 users (the maximum, and the end of the range) 115 + 50 x 1.50 = 190.00
    # session, user, second factor needed?, 2 x permissions, contract, tiers
    with django_assert_num_queries(7):
        response = viewer_client.get(url(contract.pk))

    assert response.status_code == 200
    root = parse(response)
    assert root.tag == f"{SVG}svg"
    assert texts(root, "chart-point-label") == ["€35.00", "€115.00", "€190.00"]
    assert texts(root, "chart-subtitle") == ["Graduated tiers · per user · base fee €10.00"]
    assert root.find(f"{SVG}title").text == "Price per accounting period Acme <Digital> & Co"
    assert "no-cache" in response["Cache-Control"]


def test_chart_follows_the_viewers_language(viewer_client, contract):
    response = viewer_client.get(url(contract.pk), headers={"accept-language": "de"})

    assert texts(parse(response), "chart-point-label") == [
        "35,00\xa0€",
        "115,00\xa0€",
        "190,00\xa0€",
    ]


def test_chart_has_no_style_attributes(viewer_client, contract):
    response = viewer_client.get(url(contract.pk))

    assert b"style=" not in response.content
    assert b"<style" not in response.content


def test_contract_without_tiers_gets_a_note_instead_of_a_chart(viewer_client, contract):
    contract.tiers.all().delete()

    response = viewer_client.get(url(contract.pk))

    assert response.status_code == 200
    assert texts(parse(response), "chart-message") == ["Add price tiers to see the chart"]


def test_contract_without_an_open_last_tier_gets_a_note(viewer_client, contract):
    contract.tiers.filter(up_to=None).delete()

    response = viewer_client.get(url(contract.pk))

    assert texts(parse(response), "chart-message") == ["Complete the price tiers to see the chart"]


def test_staff_who_may_only_change_contracts_also_gets_the_chart(
    client, django_user_model, contract
):
    # the admin shows the change page to them, with the chart on it
    client.force_login(staff_member(django_user_model, "change_corporatecontract"))

    response = client.get(url(contract.pk))

    assert response.status_code == 200


def test_superuser_gets_the_chart(client, staff_user, contract):
    client.force_login(staff_user)

    assert client.get(url(contract.pk)).status_code == 200


def test_anonymous_is_sent_to_the_admin_login(client, contract):
    response = client.get(url(contract.pk))

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={url(contract.pk)}"


def test_customer_who_is_not_staff_is_refused(client, django_user_model, contract):
    customer = django_user_model.objects.create_user(
        email="anna@example.com", password="pw-customer-1"
    )
    client.force_login(customer)

    response = client.get(url(contract.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_permission_is_forbidden(client, django_user_model, contract):
    client.force_login(staff_member(django_user_model, "view_product"))

    response = client.get(url(contract.pk))

    assert response.status_code == 403
    assert b"svg" not in response.content


def test_unknown_contract_is_not_found(viewer_client, contract):
    response = viewer_client.get(url(contract.pk + 1000))

    assert response.status_code == 404
