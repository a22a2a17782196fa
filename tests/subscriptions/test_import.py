"""The bulk import of people onto one offer (django-import-export in the admin): the dry
run shows every row error and writes nothing; a confirmed import creates accounts and
subscriptions once; importing the same file again matches and skips."""

from __future__ import annotations

from decimal import Decimal

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from notifications.models import Event
from subscriptions.models import Customer, PaymentMethod, Subscription, User
from subscriptions.resources import SubscriptionImportResource
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:subscriptions_subscription_import")
PROCESS = reverse("admin:subscriptions_subscription_process_import")

GOOD = (
    "email,first_name,last_name,language\n"
    "Lena.Meyer@Example.com,Lena,Meyer,de\n"
    "tom@example.com,Tom,Baker,en\n"
    "existing@example.com,Eve,Existing,\n"
)
BAD = (
    "email,first_name,last_name,language\n"
    "ok@example.com,Ok,Person,en\n"
    "not-an-address,No,Address,en\n"
    "ok2@example.com,Ok,Two,fr\n"
    "OK@example.com,Ok,Again,de\n"
)


@pytest.fixture
def free_offer():
    return OfferFactory(code="group-free", name="Group access (free)", price_amount=Decimal(0))


@pytest.fixture
def existing(django_user_model):
    customer = Customer.objects.create(name="Eve Existing", email="existing@example.com")
    django_user_model.objects.create_user(email="existing@example.com", customer=customer)
    return customer


def counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Customer.objects.count(),
        Subscription.objects.count(),
        Event.objects.count(),
    )


def upload(client, offer, text: str):
    csv = SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")
    return client.post(IMPORT, {"format": "0", "offer": offer.pk, "import_file": csv})


def confirm(client, response):
    form = response.context["confirm_form"]
    return client.post(PROCESS, {name: form.initial[name] for name in form.fields})


def test_dry_run_reports_every_row_error_with_its_row_and_writes_nothing(
    client, staff_user, free_offer
):
    client.force_login(staff_user)
    before = counts()
    response = upload(client, free_offer, BAD)
    assert response.status_code == 200
    result = response.context["result"]
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert invalid == {
        2: {"email": ["not-an-address is not a valid e-mail address."]},
        3: {"language": ["Unknown language fr: use one of en, de."]},
        4: {"email": ["ok@example.com appears more than once in the file (first in row 1)."]},
    }
    assert "confirm_form" not in response.context  # nothing to confirm
    page = response.content.decode()
    assert "not-an-address is not a valid e-mail address." in page
    assert counts() == before


def test_dry_run_shows_what_will_be_created_and_writes_nothing(
    client, staff_user, free_offer, existing
):
    client.force_login(staff_user)
    before = counts()
    response = upload(client, free_offer, GOOD)
    result = response.context["result"]
    assert not result.has_errors()
    assert not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["new", "new", "new"]
    page = response.content.decode()
    assert "lena.meyer@example.com" in page
    assert "new account" in page
    assert "existing account" in page
    assert counts() == before
    assert "confirm_form" in response.context


def test_confirmed_import_creates_accounts_and_subscriptions_once(
    client, staff_user, free_offer, existing
):
    client.force_login(staff_user)
    response = confirm(client, upload(client, free_offer, GOOD))
    assert response.status_code == 302
    lena = User.objects.get(email="lena.meyer@example.com")
    assert (lena.first_name, lena.last_name, lena.language) == ("Lena", "Meyer", "de")
    assert not lena.has_usable_password()  # they set one through "forgot password"
    assert (lena.customer.name, lena.customer.main_user, lena.customer.language) == (
        "Lena Meyer",
        lena,
        "de",
    )
    assert set(Subscription.objects.values_list("customer__email", flat=True)) == {
        "lena.meyer@example.com",
        "tom@example.com",
        "existing@example.com",
    }
    assert Subscription.objects.get(customer=existing).payment_method is None  # free
    assert Customer.objects.count() == 3
    assert Event.objects.filter(type="subscription.created").count() == 3

    # The same file again: accounts are matched, nobody gets a second subscription.
    before = counts()
    again = upload(client, free_offer, GOOD)
    assert [row.import_type for row in again.context["result"].rows] == ["skip"] * 3
    confirm(client, again)
    assert counts() == before


def test_paid_offer_is_imported_on_invoice(staff_user, existing):
    offer = OfferFactory(price_amount=Decimal("5.00"))
    dataset = tablib.Dataset(headers=["email", "first_name", "last_name", "language"])
    dataset.append(["existing@example.com", "Eve", "Existing", "en"])
    result = SubscriptionImportResource(offer=offer).import_data(dataset, user=staff_user)
    assert not result.has_errors()
    assert not result.has_validation_errors()
    subscription = Subscription.objects.get()
    assert subscription.payment_method == PaymentMethod.objects.get(kind="invoice")
    assert subscription.activities.get().actor == staff_user


def test_a_purchase_refusal_is_a_row_error_and_the_confirmed_import_writes_nothing(
    staff_user, free_offer
):
    dataset = tablib.Dataset(headers=["email", "first_name", "last_name", "language"])
    dataset.append(["a@example.com", "A", "A", "en"])
    free_offer.status = "archived"
    free_offer.save()
    before = counts()
    result = SubscriptionImportResource(offer=free_offer).import_data(
        dataset, user=staff_user, rollback_on_validation_errors=True
    )
    assert [row.error_dict for row in result.invalid_rows] == [
        {"offer": ["This offer is not on sale."]}
    ]
    assert counts() == before
