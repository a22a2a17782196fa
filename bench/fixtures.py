"""Bulk data for benchmarks, written with `INSERT … SELECT … FROM generate_series`.

`insert_series(Model, n, {field: sql_expression})` inserts n rows in one statement; the
expressions see the row number as ``i`` (1..n). Fields left out get the model field's
default (or NULL when nullable, or "" for blank text), so a field added later with a
default needs no change here; one without a default fails loudly, naming the field.
Use ``mod(i, k)`` rather than ``i % k`` (``%`` is the parameter marker).

`load_catalog(n)` fills every catalog table with n rows (links between them a few per
row) that satisfy every database constraint and the models' cross-row rules, and
`load_customers(n)` adds n customer users. Main rows get ids 1..n, so row i of one
table can point at row i of another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction

from catalog import models as catalog

NOW = "now()"
# Parts (products, discounts, terms, bundles, plans) are all active, because an active
# bundle, plan or offer may hold only active parts; the things sold (offers, corporate
# contracts and offers) mix statuses, row i of each alike, so links by i stay consistent.
ACTIVE = "'active'"
CATALOG_STATUS = "CASE mod(i, 10) WHEN 7 THEN 'draft' WHEN 8 THEN 'archived' ELSE 'active' END"
VALID_FROM = "now() - interval '30 days'"
VALID_UNTIL = "CASE WHEN mod(i, 7) = 0 THEN now() + interval '365 days' END"
BENCH_PASSWORD = "bench-password"  # noqa: S105 - a throwaway database's customers


@dataclass(frozen=True)
class Param:
    """A Python value passed as a query parameter instead of an SQL expression."""

    value: Any


def _catalog_row(prefix: str, label: str, status: str = CATALOG_STATUS) -> dict[str, str]:
    """Code, name, status, timestamps of a `CatalogModel` row."""
    return {
        "id": "i",
        "code": f"'{prefix}-' || lpad(i::text, 7, '0')",
        "name": f"'{label} ' || i",
        "status": status,
        "created_at": "now() - i * interval '1 minute'",
        "updated_at": NOW,
    }


def _fill_value(model: type[models.Model], field: models.Field) -> Param | str:
    if field.has_default():
        return Param(field.get_db_prep_save(field.get_default(), connection))
    if field.null:
        return "NULL"
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return NOW
    if field.blank and field.empty_strings_allowed:
        return Param("")
    raise ValueError(f"{model.__name__}.{field.name} has no default: give it a value")


def insert_series(
    model: type[models.Model], count: int, values: dict[str, str | Param], *, where: str = ""
) -> int:
    """INSERT `count` rows of `model` (i = 1..count) in one statement; returns rows made.

    `values` maps field names (or attnames such as ``product_id``) to SQL expressions in
    ``i`` or to `Param` values. The primary key is left to the identity column unless
    given. `where` filters the series (e.g. ``"mod(i, 2) = 0"``).
    """
    remaining = dict(values)
    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        value = remaining.pop(field.name, None)
        value = remaining.pop(field.attname, value)
        if value is None:
            if field.primary_key:
                continue
            value = _fill_value(model, field)
        columns.append(connection.ops.quote_name(field.column))
        if isinstance(value, Param):
            expressions.append("%s")
            params.append(value.value)
        else:
            expressions.append(value)
    if remaining:
        raise ValueError(f"{model.__name__} has no field(s) {', '.join(remaining)}")
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "
        f"({', '.join(columns)}) SELECT {', '.join(expressions)} "
        f"FROM generate_series(1, %s) AS i {'WHERE ' + where if where else ''}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, count])
        return cursor.rowcount


def reset_sequences(model_list: list[type[models.Model]]) -> None:
    """After explicit ids, move identity sequences past them (ORM inserts then work)."""
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), model_list):
            cursor.execute(statement)


def truncate(model_list: list[type[models.Model]]) -> None:
    """Empty the tables (and everything referencing them), restarting their ids."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in model_list)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


CATALOG_MODELS = [
    catalog.Product,
    catalog.Discount,
    catalog.Discount.products.through,
    catalog.Term,
    catalog.Bundle,
    catalog.BundleItem,
    catalog.Bundle.discounts.through,
    catalog.Plan,
    catalog.PlanBundle,
    catalog.Plan.compatible_bundles.through,
    catalog.Offer,
    catalog.ReportingTag,
    catalog.ContractFolder,
    catalog.CorporateContract,
    catalog.ContractTier,
    catalog.CorporateContract.reporting_tags.through,
    catalog.CorporateOffer,
    catalog.CorporateOfferContract,
]


def _other(n: int, step: int) -> str:
    """Row number `step` places after i, wrapping within 1..n."""
    return f"mod(i - 1 + {step}, {n}) + 1"


def _products_discounts_terms(n: int) -> None:
    insert_series(
        catalog.Product,
        n,
        _catalog_row("product", "Product", status=ACTIVE)
        | {
            "ledger_account": "'4' || lpad(mod(i, 1000)::text, 3, '0')",
            "tax_rate": "CASE mod(i, 3) WHEN 0 THEN 19.00 WHEN 1 THEN 7.00 ELSE 0.00 END",
        },
    )
    insert_series(
        catalog.Discount,
        n,
        _catalog_row("discount", "Discount", status=ACTIVE)
        | {
            "kind": "CASE WHEN mod(i, 2) = 0 THEN 'percent' ELSE 'amount' END",
            "percent_off": "CASE WHEN mod(i, 2) = 0 THEN mod(i, 50) + 5.00 END",
            "amount_off": "CASE WHEN mod(i, 2) = 1 THEN mod(i, 100) + 1.50 END",
            "currency": "'EUR'",
        },
    )
    through = catalog.Discount.products.through
    insert_series(through, n, {"discount_id": "i", "product_id": "i"})
    if n >= 2:
        insert_series(through, n, {"discount_id": "i", "product_id": _other(n, 1)})
    penalty = "mod(i, 3) = 1"
    insert_series(
        catalog.Term,
        n,
        _catalog_row("term", "Term", status=ACTIVE)
        | {
            "commitment_count": "mod(i, 24) + 1",
            "commitment_basis": "CASE WHEN mod(i, 4) = 0 THEN 'billing_cycles' ELSE 'calendar' END",
            "commitment_unit": (
                "CASE WHEN mod(i, 4) = 0 THEN '' "
                "ELSE (ARRAY['month', 'year', 'day'])[mod(i, 3) + 1] END"
            ),
            "early_cancellation": (
                f"CASE WHEN {penalty} THEN 'penalty' "
                "WHEN mod(i, 3) = 2 THEN 'not_allowed' ELSE 'allowed' END"
            ),
            "grace_period_count": f"CASE WHEN {penalty} THEN 14 END",
            "grace_period_unit": f"CASE WHEN {penalty} THEN 'day' ELSE '' END",
            "penalty_fee_amount": f"CASE WHEN {penalty} THEN mod(i, 10) + 49.00 END",
            "penalty_line_type": f"CASE WHEN {penalty} THEN 'penalty' ELSE '' END",
            "penalty_tax_rate": f"CASE WHEN {penalty} THEN 19.00 END",
            "pro_rata_penalty": f"{penalty} AND mod(i, 2) = 0",
            "currency": "'EUR'",
            "renewal_term_id": "CASE WHEN i > 1 AND mod(i, 5) = 0 THEN i - 1 END",
        },
    )


def _bundles_plans_offers(n: int) -> None:
    insert_series(
        catalog.Bundle,
        n,
        _catalog_row("bundle", "Bundle", status=ACTIVE)
        | {
            "term_id": "CASE WHEN mod(i, 2) = 0 THEN i END",
            "valid_from": VALID_FROM,
            "valid_until": VALID_UNTIL,
        },
    )
    insert_series(catalog.BundleItem, n, {"bundle_id": "i", "product_id": "i", "required": "true"})
    if n >= 2:
        insert_series(
            catalog.BundleItem,
            n,
            {"bundle_id": "i", "product_id": _other(n, 1), "required": "false"},
        )
    insert_series(
        catalog.Bundle.discounts.through,
        n,
        {"bundle_id": "i", "discount_id": "i"},
        where="mod(i, 2) = 0",
    )
    insert_series(
        catalog.Plan,
        n,
        _catalog_row("plan", "Plan", status=ACTIVE)
        | {
            "term_id": "CASE WHEN mod(i, 3) = 0 THEN i END",
            "valid_from": VALID_FROM,
            "valid_until": VALID_UNTIL,
            "compatible_bundles_only": "mod(i, 4) = 0",
            "payment_methods": (
                "CASE WHEN mod(i, 2) = 0 THEN '[]'::jsonb ELSE '[\"card\", \"invoice\"]'::jsonb END"
            ),
        },
    )
    insert_series(catalog.PlanBundle, n, {"plan_id": "i", "bundle_id": "i", "position": "0"})
    if n >= 2:
        insert_series(
            catalog.PlanBundle, n, {"plan_id": "i", "bundle_id": _other(n, 1), "position": "1"}
        )
    if n >= 3:  # an add-on must not be one of the plan's own bundles (i, i + 1)
        insert_series(
            catalog.Plan.compatible_bundles.through,
            n,
            {"plan_id": "i", "bundle_id": _other(n, 2)},
        )
    # kind by mod(i, 3): 0 single product, 1 simple subscription, 2 complex (a plan).
    insert_series(
        catalog.Offer,
        n,
        _catalog_row("offer", "Offer")
        | {
            "kind": (
                "(ARRAY['single_product', 'simple_subscription', 'complex_subscription'])"
                "[mod(i, 3) + 1]"
            ),
            "product_id": "CASE WHEN mod(i, 3) < 2 THEN i END",
            "plan_id": "CASE WHEN mod(i, 3) = 2 THEN i END",
            "term_id": "CASE WHEN mod(i, 5) = 0 THEN i END",
            "price_amount": "mod(i, 200) + 0.99",
            "currency": "'EUR'",
            "billing_interval_count": "CASE WHEN mod(i, 3) > 0 THEN 1 END",
            "billing_interval_unit": (
                "CASE WHEN mod(i, 3) = 0 THEN '' WHEN mod(i, 2) = 0 THEN 'month' ELSE 'year' END"
            ),
            "user_count": "CASE WHEN mod(i, 4) = 0 THEN 4 ELSE 0 END",
            "invitation_url": (
                "CASE WHEN mod(i, 8) = 0 THEN 'https://example.com/join' ELSE '' END"
            ),
            "valid_from": VALID_FROM,
            "valid_until": VALID_UNTIL,
        },
    )


def _corporate(n: int) -> None:
    insert_series(catalog.ReportingTag, n, {"id": "i", "name": "'Tag ' || i"})
    # Ten root folders, then folder i inside folder i / 10: a tree log10(n) deep, up to
    # the five levels folders may nest (MAX_FOLDER_DEPTH); past 100,000 folders the rest
    # go into the fourth level.
    insert_series(
        catalog.ContractFolder,
        n,
        {
            "id": "i",
            "name": "'Folder ' || i",
            "parent_id": (
                "CASE WHEN i <= 10 THEN NULL WHEN i <= 100000 THEN i / 10 "
                "ELSE mod(i, 9000) + 1001 END"
            ),
        },
    )
    fixed = "mod(i, 2) = 1"
    per_package = "mod(i, 4) = 0"
    insert_series(
        catalog.CorporateContract,
        n,
        _catalog_row("contract", "Contract")
        | {
            "product_id": "i",
            "folder_id": "CASE WHEN mod(i, 2) = 0 THEN i END",
            "duration_kind": f"CASE WHEN {fixed} THEN 'fixed' ELSE 'until_revoked' END",
            "duration_count": f"CASE WHEN {fixed} THEN 2 END",
            "duration_unit": f"CASE WHEN {fixed} THEN 'year' ELSE '' END",
            "accounting_period_count": "1",
            "accounting_period_unit": "'month'",
            "cancellation_period_count": "mod(i, 2) * 3",
            "cancellation_period_unit": "'month'",
            "subscription_interval_count": "1",
            "subscription_interval_unit": "'year'",
            "currency": "'EUR'",
            "base_fee_amount": "CASE WHEN mod(i, 3) = 0 THEN 0.00 ELSE mod(i, 50) + 100.00 END",
            "pricing_strategy": f"CASE WHEN {per_package} THEN 'per_package' ELSE 'per_user' END",
            "package_size": f"CASE WHEN {per_package} THEN 10 ELSE 1 END",
            "tier_mode": "(ARRAY['volume', 'graduated', 'stairstep'])[mod(i, 3) + 1]",
            "maximum_users": "CASE WHEN mod(i, 5) = 0 THEN 500 END",
        },
    )
    for up_to, unit_amount in (("10", "9.00"), ("100", "7.50"), ("NULL", "5.00")):
        insert_series(
            catalog.ContractTier,
            n,
            {"contract_id": "i", "up_to": up_to, "unit_amount": unit_amount},
        )
    insert_series(
        catalog.CorporateContract.reporting_tags.through,
        n,
        {"corporatecontract_id": "i", "reportingtag_id": "i"},
    )
    insert_series(
        catalog.CorporateOffer,
        n,
        _catalog_row("corporate-offer", "Corporate offer")
        | {"structure": "'single_product'", "valid_from": VALID_FROM, "valid_until": VALID_UNTIL},
    )
    insert_series(catalog.CorporateOfferContract, n, {"offer_id": "i", "contract_id": "i"})


@transaction.atomic
def load_catalog(n: int) -> None:
    """n rows in every catalog table, plus their links."""
    _products_discounts_terms(n)
    _bundles_plans_offers(n)
    _corporate(n)
    reset_sequences(CATALOG_MODELS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@transaction.atomic
def load_customers(n: int) -> None:
    """n customer users (not staff) who could log in with BENCH_PASSWORD."""
    user_model = get_user_model()
    insert_series(
        user_model,
        n,
        {
            "id": "i",
            "email": "'customer' || i || '@bench.example'",
            "password": Param(make_password(BENCH_PASSWORD)),
            "public_id": "gen_random_uuid()",
            "first_name": "'Customer'",
            "last_name": "i::text",
            "date_joined": "now() - i * interval '1 hour'",
        },
    )
    reset_sequences([user_model])
