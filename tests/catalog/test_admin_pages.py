"""Every catalog admin page opens for staff; list pages use a fixed number of queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import (
    BundleFactory,
    ContractFolderFactory,
    CorporateContractFactory,
    CorporateOfferFactory,
    DiscountFactory,
    OfferFactory,
    PlanFactory,
    ProductFactory,
    ReportingTagFactory,
    TermFactory,
)

CATALOG_MODELS = [
    "product",
    "discount",
    "term",
    "bundle",
    "plan",
    "offer",
    "corporatecontract",
    "corporateoffer",
    "contractfolder",
    "reportingtag",
]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", CATALOG_MODELS)
def test_changelist_and_add_page_open_for_staff(client, staff_user, model):
    client.force_login(staff_user)
    for view in ("changelist", "add"):
        response = client.get(reverse(f"admin:catalog_{model}_{view}"))
        assert response.status_code == 200, (model, view)


# --- list pages: a fixed number of queries, whatever the number of rows ------------------


def _folder_three_deep():
    return ContractFolderFactory(parent=ContractFolderFactory(parent=ContractFolderFactory()))


# One row per call, with every related object its list columns and filters show.
ROWS = {
    "product": lambda: ProductFactory(),
    "discount": lambda: DiscountFactory(products=[ProductFactory(), ProductFactory()]),
    "term": lambda: TermFactory(renewal_term=TermFactory(with_penalty=True)),
    "bundle": lambda: BundleFactory(term=TermFactory(), discounts=[DiscountFactory()]),
    "plan": lambda: PlanFactory(term=TermFactory(), compatible_bundles=[BundleFactory()]),
    "offer": lambda: (OfferFactory(multi_user=True), OfferFactory(complex=True)),
    "corporatecontract": lambda: CorporateContractFactory(
        folder=_folder_three_deep(), reporting_tags=[ReportingTagFactory()]
    ),
    "corporateoffer": lambda: CorporateOfferFactory(
        structure="bundle", contracts=[CorporateContractFactory(), CorporateContractFactory()]
    ),
    "contractfolder": _folder_three_deep,
    "reportingtag": lambda: ReportingTagFactory(),
}

# session + user, the counts of the result and of all rows, the page of rows, and one
# query per list filter that lists values (currency, folder, reporting tag); the contract
# list also counts folders and tags (at most 201 rows) to decide whether to offer those
# two filters.
# Each includes the superuser's second factor: the verified TOTP device (security.otp).
LIST_QUERIES = {
    "product": 6,
    "discount": 7,
    "term": 6,
    "bundle": 6,
    "plan": 6,
    "offer": 7,
    "corporatecontract": 10,
    "corporateoffer": 6,
    "contractfolder": 6,
    "reportingtag": 6,
}


@pytest.mark.parametrize("model", CATALOG_MODELS)
def test_changelist_needs_the_same_queries_for_3_rows_as_for_10(
    staff_client, django_assert_num_queries, model
):
    # The folder changelist is a tree; "?q=" shows the flat list with its folder paths.
    url = reverse(f"admin:catalog_{model}_changelist") + (
        "?q=" if model == "contractfolder" else ""
    )
    for _ in range(3):
        ROWS[model]()
    with django_assert_num_queries(LIST_QUERIES[model]):
        assert staff_client.get(url).status_code == 200

    for _ in range(7):
        ROWS[model]()
    with django_assert_num_queries(LIST_QUERIES[model]):
        response = staff_client.get(url)

    assert response.context["cl"].result_count >= 10


def test_folder_tree_needs_the_same_queries_for_3_folders_as_for_30(
    staff_client, django_assert_num_queries
):
    url = reverse("admin:catalog_contractfolder_changelist")
    _folder_three_deep()
    with django_assert_num_queries(4):  # 3 + the verified TOTP device
        staff_client.get(url)

    for _ in range(9):
        CorporateContractFactory(folder=_folder_three_deep())
    with django_assert_num_queries(4):  # 3 + the verified TOTP device
        response = staff_client.get(url)

    assert len(response.context["tree"]) >= 30


def test_contract_list_and_folder_filter_show_whole_folder_paths(staff_client):
    acme = ContractFolderFactory(
        name="Acme",
        parent=ContractFolderFactory(name="DACH", parent=ContractFolderFactory(name="B2B")),
    )
    CorporateContractFactory(code="acme-digital", folder=acme)

    response = staff_client.get(reverse("admin:catalog_corporatecontract_changelist"))

    assert '<td class="field-folder_path">B2B / DACH / Acme</td>' in response.content.decode()
    folder_filter = next(f for f in response.context["cl"].filter_specs if f.field_path == "folder")
    assert (acme.pk, "B2B / DACH / Acme") in folder_filter.lookup_choices


def test_folder_list_shows_paths_and_folder_tree_shows_depths(staff_client):
    acme = ContractFolderFactory(
        name="Acme",
        parent=ContractFolderFactory(name="DACH", parent=ContractFolderFactory(name="B2B")),
    )
    url = reverse("admin:catalog_contractfolder_changelist")

    flat = staff_client.get(url + "?q=Acme")
    tree = staff_client.get(url)

    assert [str(folder) for folder in flat.context["cl"].result_list] == ["B2B / DACH / Acme"]
    depths = {folder.pk: depth for depth, folder in tree.context["tree"]}
    assert depths[acme.pk] == depths[acme.parent.parent.pk] + 2


# --- money is shown in the viewer's language ----------------------------------------------


@pytest.mark.parametrize(("language", "price"), [("en", "€9.90"), ("de", "9,90\xa0€")])
def test_offer_list_shows_prices_in_the_viewers_language(staff_client, language, price):
    OfferFactory(code="digital-monthly", price_amount=Decimal("9.90"), currency="EUR")

    response = staff_client.get(
        reverse("admin:catalog_offer_changelist"), HTTP_ACCEPT_LANGUAGE=language
    )

    assert f'<td class="field-price">{price}</td>' in response.content.decode()


@pytest.mark.parametrize(
    ("language", "fee", "discount"),
    [("en", "$12.50", "$5.00"), ("de", "12,50\xa0$", "5,00\xa0$")],
)
def test_contract_and_discount_lists_show_amounts_in_the_viewers_language(
    staff_client, language, fee, discount
):
    CorporateContractFactory(currency="USD", base_fee_amount=Decimal("12.50"))
    DiscountFactory(fixed_amount=True, currency="USD")
    client_kwargs = {"HTTP_ACCEPT_LANGUAGE": language}

    contracts = staff_client.get(
        reverse("admin:catalog_corporatecontract_changelist"), **client_kwargs
    )
    discounts = staff_client.get(reverse("admin:catalog_discount_changelist"), **client_kwargs)

    assert f'<td class="field-base_fee">{fee}</td>' in contracts.content.decode()
    assert f'<td class="field-value">{discount}</td>' in discounts.content.decode()


def test_language_cookie_also_switches_the_money_format(staff_client, settings):
    OfferFactory(price_amount=Decimal("1234.50"))
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"

    response = staff_client.get(reverse("admin:catalog_offer_changelist"))

    assert '<td class="field-price">1.234,50\xa0€</td>' in response.content.decode()


def test_offer_list_names_the_interval_in_singular_and_plural(staff_client):
    OfferFactory(code="monthly", billing_interval_count=1, billing_interval_unit="month")
    OfferFactory(code="quarterly", billing_interval_count=3, billing_interval_unit="month")

    html = staff_client.get(reverse("admin:catalog_offer_changelist")).content.decode()

    assert '<td class="field-interval">1 month</td>' in html
    assert '<td class="field-interval">3 months</td>' in html


def test_contract_list_drops_the_folder_and_tag_filters_when_they_would_not_fit(
    staff_client, monkeypatch
):
    from catalog.admin import corporate

    monkeypatch.setattr(corporate, "FILTER_CHOICES_LIMIT", 2)
    folder = ContractFolderFactory(name="Universities")
    ContractFolderFactory(name="Companies")
    CorporateContractFactory(code="in-folder", folder=folder)
    CorporateContractFactory(code="elsewhere")
    for _ in range(3):
        ReportingTagFactory()
    url = reverse("admin:catalog_corporatecontract_changelist")

    filters = [f.title for f in staff_client.get(url).context["cl"].filter_specs]
    filtered = staff_client.get(url + f"?folder__id__exact={folder.pk}")

    assert "folder" in filters  # 2 folders fit
    assert "reporting tags" not in filters  # 3 tags do not
    # The folder tree's links keep working whether or not the filter is offered.
    assert [c.code for c in filtered.context["cl"].result_list] == ["in-folder"]


def test_folder_page_falls_back_to_the_paginated_list_past_the_tree_limit(
    staff_client, monkeypatch
):
    from catalog.admin import corporate

    monkeypatch.setattr(corporate, "TREE_LIMIT", 2)
    for name in ("a", "b", "c"):
        ContractFolderFactory(name=name)

    response = staff_client.get(reverse("admin:catalog_contractfolder_changelist"))

    assert "tree" not in response.context
    assert response.context["cl"].result_count == 3


def test_folder_links_filter_contracts_even_when_the_folder_filter_is_not_offered(
    staff_client, monkeypatch
):
    from catalog.admin import corporate

    monkeypatch.setattr(corporate, "FILTER_CHOICES_LIMIT", 0)
    folder = ContractFolderFactory(name="Universities")
    CorporateContractFactory(code="in-folder", folder=folder)
    CorporateContractFactory(code="elsewhere")
    url = reverse("admin:catalog_corporatecontract_changelist")

    response = staff_client.get(url + f"?folder__id__exact={folder.pk}")

    assert "folder" not in [f.title for f in response.context["cl"].filter_specs]
    assert [c.code for c in response.context["cl"].result_list] == ["in-folder"]


def test_offer_list_names_the_interval_in_german(staff_client):
    OfferFactory(code="monthly", billing_interval_count=1, billing_interval_unit="month")
    OfferFactory(code="yearly", billing_interval_count=2, billing_interval_unit="year")

    response = staff_client.get(
        reverse("admin:catalog_offer_changelist"), HTTP_ACCEPT_LANGUAGE="de"
    )

    html = response.content.decode()
    assert '<td class="field-interval">1 Monat</td>' in html
    assert '<td class="field-interval">2 Jahre</td>' in html
