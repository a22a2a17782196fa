"""`manage.py seed_demo`: the demo data exists as promised and a second run changes nothing."""

from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from catalog.models import CorporateOffer, Offer, Term
from subscriptions.demo import DEMO_PASSWORD
from subscriptions.models import User

pytestmark = pytest.mark.django_db

STAFF = {
    "admin@kontor.example": "Administrator",
    "catalog@kontor.example": "Catalog manager",
    "support@kontor.example": "Customer support",
    "finance@kontor.example": "Finance",
}


def snapshot() -> dict[str, list]:
    """Every row of every catalog and subscriptions model (and groups, memberships),
    with all of its field values: equal snapshots mean nothing was written."""
    models = [*apps.get_app_config("catalog").get_models(), User, Group, User.groups.through]
    for model in list(models):
        models += [
            f.remote_field.through
            for f in model._meta.many_to_many
            if f.remote_field.through._meta.auto_created
        ]
    return {
        model._meta.label: list(model.objects.order_by("pk").values_list())
        for model in dict.fromkeys(models)
    }


def test_seed_demo_twice_creates_and_changes_nothing_the_second_time():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = snapshot()

    call_command("seed_demo", stdout=out)

    assert snapshot() == first
    assert "seed_demo catalog: 0 created, 0 updated, 50 unchanged" in out.getvalue()
    assert "seed_demo people: 0 created, 0 updated, 5 unchanged" in out.getvalue()
    assert len(first["catalog.Offer"]) == 5
    assert len(first["catalog.CorporateOffer"]) == 2


def test_seed_demo_term_renews_into_a_monthly_term():
    call_command("seed_demo", stdout=StringIO())

    term = Term.objects.get(code="tb-12m-pro-rata")

    assert term.name == "12 months, pro-rata penalty, then renews monthly"
    assert (term.commitment_count, term.commitment_unit, term.commitment_basis) == (
        12,
        "month",
        "calendar",
    )
    assert term.early_cancellation == Term.EarlyCancellation.PENALTY
    assert (term.grace_period_count, term.grace_period_unit) == (14, "day")
    assert term.penalty_fee_amount == Decimal("120.00")
    assert term.currency == "EUR"
    assert term.pro_rata_penalty is True
    renewal = term.renewal_term
    assert (renewal.commitment_count, renewal.commitment_unit) == (1, "month")
    assert renewal.early_cancellation == Term.EarlyCancellation.ALLOWED
    assert renewal.renewal_term is None


def test_seed_demo_family_offer_is_multi_user_on_a_plan():
    call_command("seed_demo", stdout=StringIO())

    offer = Offer.objects.get(code="tb-family-digital")

    assert offer.kind == Offer.Kind.COMPLEX_SUBSCRIPTION
    assert offer.user_count == 4
    assert offer.price_amount == Decimal("19.99")
    assert (offer.billing_interval_count, offer.billing_interval_unit) == (1, "month")
    assert offer.invitation_url == "https://www.tagesblatt.example/family/join"
    items = {(i.product.code, i.required) for b in offer.plan.bundles.all() for i in b.items.all()}
    assert items == {("tb-digital", True), ("tb-podcasts", False)}
    assert {b.code for b in offer.plan.compatible_bundles.all()} == {
        "tb-archive-addon",
        "tb-podcasts-addon",
    }


def test_seed_demo_corporate_bundle_has_two_contracts_with_identical_terms_and_tiers():
    call_command("seed_demo", stdout=StringIO())

    offer = CorporateOffer.objects.get(code="tb-campus")
    digital, epaper = offer.contracts.order_by("code")

    assert offer.structure == CorporateOffer.Structure.BUNDLE
    assert (digital.code, epaper.code) == ("tb-campus-digital", "tb-campus-epaper")
    assert digital.terms == epaper.terms
    assert digital.maximum_users == epaper.maximum_users == 500
    assert (digital.tier_mode, epaper.tier_mode) == ("volume", "graduated")
    for contract in (digital, epaper):
        assert contract.base_fee_amount == Decimal("50.00")
        assert contract.pricing_strategy == "per_user"
        assert [(t.up_to, t.unit_amount) for t in contract.tiers.all()] == [
            (10, Decimal("2.50")),
            (50, Decimal("2.00")),
            (None, Decimal("1.50")),
        ]
        assert str(contract.folder) == "Corporate / Universities"
        assert contract.reporting_tags.count() == 3


def test_seed_demo_everything_sellable_is_active_and_valid_now():
    call_command("seed_demo", stdout=StringIO())

    for model in apps.get_app_config("catalog").get_models():
        fields = {f.name for f in model._meta.fields}
        if "status" in fields:
            assert set(model.objects.values_list("status", flat=True)) == {"active"}, model
        if "valid_from" in fields:
            assert all(o.is_valid_at(o.valid_from) for o in model.objects.all()), model


def test_seed_demo_staff_are_in_their_role_groups_and_the_customer_is_not_staff():
    call_command("seed_demo", stdout=StringIO())

    for email, group in STAFF.items():
        user = User.objects.get(email=email)
        assert user.is_staff
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert user.is_superuser == (group == "Administrator")
        assert user.check_password(DEMO_PASSWORD)
    reader = User.objects.get(email="reader@kontor.example")
    assert not reader.is_staff
    assert not reader.is_superuser
    assert not reader.groups.exists()
    assert reader.check_password(DEMO_PASSWORD)


def test_seed_demo_resets_a_changed_demo_password():
    call_command("seed_demo", stdout=StringIO())
    reader = User.objects.get(email="reader@kontor.example")
    reader.set_password("something-else")
    reader.save()

    call_command("seed_demo", stdout=StringIO())

    reader.refresh_from_db()
    assert reader.check_password(DEMO_PASSWORD)


def test_seed_demo_without_role_groups_fails_loudly_and_writes_nothing():
    Group.objects.filter(name="Finance").delete()

    with pytest.raises(CommandError, match=r"Missing staff role groups: Finance\..*migrate"):
        call_command("seed_demo", stdout=StringIO())

    assert not Offer.objects.exists()
    assert not User.objects.exists()


def test_seed_demo_keeps_what_staff_changed_in_the_demo():
    call_command("seed_demo", stdout=StringIO())
    family = Offer.objects.get(code="tb-family-digital")
    family.user_count = 6
    family.full_clean()
    family.save()

    call_command("seed_demo", stdout=StringIO())

    assert Offer.objects.get(code="tb-family-digital").user_count == 6


def test_seed_demo_gives_the_portal_customer_a_subscription_and_adds_a_company_once():
    from subscriptions.models import Customer, Subscription

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    rita = User.objects.get(email="reader@kontor.example")
    (subscription,) = Subscription.objects.filter(customer=rita.customer)
    assert subscription.offer.code == "tb-digital-monthly"
    assert {(i.product.code, i.source) for i in subscription.items.all()} == {
        ("tb-digital", "included"),
        ("tb-podcasts", "optional"),
        ("tb-archive", "addon"),
    }
    assert subscription.payment_method.label == "Visa •••• 4242"
    company = Customer.objects.get(name="Stadtwerke Musterstadt GmbH")
    assert [s.offer.code for s in company.subscriptions.all()] == ["tb-epaper-yearly"]
    assert company.subscriptions.get().payment_method.kind == "invoice"
