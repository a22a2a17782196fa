"""The reports dashboard (issue 12) over `scale` invoice lines and `scale` user
subscriptions: every dashboard selector must answer in under 300 ms at 1,000,000.

Data (``INSERT … SELECT generate_series``; triggers and foreign-key checks are off while
it loads, ``session_replication_role = replica``, as for a restore):

- ``scale / 100`` corporate customers, each with a corporate subscription (one
  contract, reporting tag "campus"), a seat account (at most 120 users; one in ten
  unlimited) and 100 users with a user subscription each (``scale`` users and user
  subscriptions; one in ten ended), one pending invitation per ten accounts; twelve
  monthly invoices each (usage + base fee: two lines), the older ones paid;
- ``scale / 25`` regular subscriptions (one in five multi-user, one in ten yearly, one
  in six ended), one in four with a coupon redemption of one of 50 campaigns, and as many
  monthly invoices of two lines each as bring the lines to ``scale``; the older ones paid,
  one in fifty overdue;
- one invoice in a hundred credited by a credit note (two more lines each).

Timed, after ``VACUUM ANALYZE``: each chart's selector of `reports.dashboard.CHARTS`
for the last twelve months in EUR, RUNS times after one warm-up; then the same with the
reporting-tag filter and with a product filter; then the whole dashboard page (the
admin's index, as a superuser through Django's test client). Figures:

- ``seconds``: the sum of the selectors' medians (the dashboard's figures once);
  ``queries``: the queries they sent (one each); ``baseline_seconds`` null: the
  selectors are already one hand-written SQL query each, there is nothing plainer;
- ``selectors_ms``: each selector's median (ms), ``max_ms`` the slowest of them, and
  ``filtered_max_ms`` the slowest with the tag or product filter;
- ``median_ms``, ``p95_ms``: the dashboard page per request;
- ``peak_mb``: tracemalloc's peak of one untimed pass over the selectors;
- ``load_average``: the machine's 1-minute load average before and after the timed
  part (this machine has 2 cores shared by several people: wall times grow with it).
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from bench import fixtures
from bench.harness import log, measure, percentile, tracemalloc_peak_mb
from billing.models import Invoice, InvoiceLine
from catalog.models import (
    Bundle,
    ContractTier,
    CorporateContract,
    CorporateOffer,
    CorporateOfferContract,
    Offer,
    Product,
    ReportingTag,
)
from coupons.models import Campaign
from reports.dashboard import CHARTS
from reports.forms import default_first
from reports.selectors.filters import Filters
from seats.models import UserSubscription

DEFAULT_SCALE = 10_000
USERS = 100  # per corporate account
CAMPAIGNS = 50
RUNS = 5
PAGE_RUNS = 5


def _catalog() -> dict[str, int]:
    """Products, a regular offer, a tagged corporate contract and offer, campaigns."""
    digital = Product.objects.create(code="bench-digital", name="Digital", status="active")
    audio = Product.objects.create(code="bench-audio", name="Audio", status="active")
    campus = Product.objects.create(code="bench-campus", name="Campus", status="active")
    offer = Offer.objects.create(
        code="bench-offer", name="Bench monthly", kind=Offer.Kind.SIMPLE_SUBSCRIPTION,
        product=digital, price_amount=Decimal("9.90"), currency="EUR",
        billing_interval_count=1, billing_interval_unit="month", status="active",
        valid_from=timezone.now() - timedelta(days=800),
    )  # fmt: skip
    contract = CorporateContract.objects.create(
        code="bench-contract", name="Bench contract", product=campus, status="active",
        currency="EUR", base_fee_amount=Decimal("25.00"), maximum_users=120,
        tier_mode=CorporateContract.TierMode.GRADUATED,
    )  # fmt: skip
    ContractTier.objects.create(contract=contract, up_to=50, unit_amount=Decimal("3.00"))
    ContractTier.objects.create(contract=contract, up_to=None, unit_amount=Decimal("2.00"))
    tag = ReportingTag.objects.create(name="campus")
    contract.reporting_tags.add(tag)
    corporate = CorporateOffer.objects.create(
        code="bench-corporate", name="Bench corporate", status="active",
        valid_from=timezone.now() - timedelta(days=800),
    )  # fmt: skip
    CorporateOfferContract.objects.create(offer=corporate, contract=contract)
    bundle = Bundle.objects.create(code="bench-bundle", name="Bench bundle", status="active",
                                   valid_from=timezone.now() - timedelta(days=800))  # fmt: skip
    for n in range(1, CAMPAIGNS + 1):
        Campaign.objects.create(
            name=f"Campaign {n}", code=f"bench-campaign-{n}", bundle=bundle,
            template=f"BENCH{n}-SHARED", valid_from=timezone.now() - timedelta(days=800),
            quantity=1, redemption_quantity=1_000_000, discount_type="percent",
            discount_percent=Decimal(20), generation_state=Campaign.Generation.DONE,
        )  # fmt: skip
    return {"digital": digital.pk, "audio": audio.pk, "campus": campus.pk, "offer": offer.pk,
            "corporate": corporate.pk, "tag": tag.pk}  # fmt: skip


def _this_month() -> datetime:
    local = timezone.localtime()
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _run_sql(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def load(scale: int) -> dict[str, int]:
    ids = _catalog()
    corp = max(1, scale // USERS)
    regular = max(1, scale // 25)
    corporate_lines = corp * 12 * 2
    regular_invoices = max(regular, (scale - corporate_lines) // 2)
    params = {
        "corp": corp, "reg": regular, "users": USERS, "month": _this_month(),
        "reg_invoices": regular_invoices, **ids,
    }  # fmt: skip
    with transaction.atomic():
        _run_sql("SET LOCAL session_replication_role = replica", {})
        for label, sql in LOAD_SQL:
            began = time.perf_counter()
            rows = _run_sql(sql, params)
            log(f"{label}: {rows} rows in {time.perf_counter() - began:.1f} s")
    fixtures.reset_sequences(LOADED_MODELS)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log(f"VACUUM ANALYZE in {time.perf_counter() - began:.1f} s")
    return ids


# Customers: 1..corp are the corporate ones, corp+1..corp+reg the regular ones; the
# subscriptions have the same ids as their customers.
LOAD_SQL = [
    (
        "customers",
        """
INSERT INTO subscriptions_customer (id, public_id, kind, name, email, vat_id, address_line1,
    address_line2, postal_code, city, country, language, currency, created_at, updated_at)
SELECT i, gen_random_uuid(), CASE WHEN i <= %(corp)s THEN 'company' ELSE 'person' END,
       CASE WHEN i <= %(corp)s THEN 'University ' || i ELSE 'Reader ' || i END,
       'c' || i || '@bench.example', '', '', '', '', '', 'DE', 'en', 'EUR', now(), now()
FROM generate_series(1, %(corp)s + %(reg)s) AS i""",
    ),
    (
        "subscriptions",
        """
INSERT INTO subscriptions_subscription (id, public_id, customer_id, offer_id,
    corporate_offer_id, status, price_amount, currency, billing_interval_count,
    billing_interval_unit, user_count, term_snapshot, started_at, current_period_start,
    current_period_end, ended_at, coupon_code, created_at, updated_at)
SELECT i, gen_random_uuid(), i,
       CASE WHEN i > %(corp)s THEN %(offer)s END,
       CASE WHEN i <= %(corp)s THEN %(corporate)s END,
       CASE WHEN i > %(corp)s AND mod(i, 6) = 0 THEN 'ended' ELSE 'active' END,
       CASE WHEN i <= %(corp)s THEN 0 WHEN mod(i, 10) = 0 THEN 99.00 ELSE 9.90 END,
       'EUR', 1, CASE WHEN i > %(corp)s AND mod(i, 10) = 0 THEN 'year' ELSE 'month' END,
       CASE WHEN i <= %(corp)s THEN 120 WHEN mod(i, 5) = 0 THEN 4 ELSE 0 END, '{}'::jsonb,
       %(month)s - make_interval(months => 13 + mod(i, 12)),
       %(month)s, %(month)s + interval '1 month',
       CASE WHEN i > %(corp)s AND mod(i, 6) = 0
            THEN %(month)s - make_interval(months => mod(i, 12), days => -3) END,
       '', now(), now()
FROM generate_series(1, %(corp)s + %(reg)s) AS i""",
    ),
    (
        "subscription items",
        """
INSERT INTO subscriptions_subscriptionitem (subscription_id, product_id, source)
SELECT i, CASE WHEN i <= %(corp)s THEN %(campus)s WHEN mod(i, 2) = 0 THEN %(digital)s
               ELSE %(audio)s END, 'included'
FROM generate_series(1, %(corp)s + %(reg)s) AS i""",
    ),
    (
        "users",
        """
INSERT INTO subscriptions_user (id, public_id, password, is_superuser, email, first_name,
    last_name, language, is_staff, is_active, date_joined)
SELECT i, gen_random_uuid(), '!', false, 'u' || i || '@bench.example', '', '', 'en',
       false, true, now()
FROM generate_series(1, %(corp)s * %(users)s) AS i""",
    ),
    (
        "seat accounts",
        """
INSERT INTO seats_seataccount (id, public_id, subscription_id, maximum_users,
    invitation_validity_days, users_may_cancel, created_at)
SELECT i, gen_random_uuid(), i, CASE WHEN mod(i, 10) = 0 THEN NULL ELSE 120 END, 14, false,
       now()
FROM generate_series(1, %(corp)s) AS i""",
    ),
    (
        "user subscriptions",
        """
INSERT INTO seats_usersubscription (id, public_id, seat_account_id, user_id, product_id,
    state, started_at, ends_at, ended_at, created_at)
SELECT i, gen_random_uuid(), (i - 1) / %(users)s + 1, i, %(campus)s,
       CASE WHEN mod(i, 10) = 0 THEN 'ended' ELSE 'active' END,
       %(month)s - interval '13 months',
       CASE WHEN mod(i, 10) = 0 THEN %(month)s - interval '2 months' END,
       CASE WHEN mod(i, 10) = 0 THEN %(month)s - interval '2 months' END, now()
FROM generate_series(1, %(corp)s * %(users)s) AS i""",
    ),
    (
        "invitations",
        """
INSERT INTO seats_invitation (public_id, seat_account_id, email, first_name, last_name,
    language, code_hash, status, expires_at, created_at)
SELECT gen_random_uuid(), i, 'invited' || i || '@bench.example', '', '', 'en',
       md5(i::text) || md5('x' || i), 'pending', now() + interval '10 days', now()
FROM generate_series(1, %(corp)s) AS i WHERE mod(i, 10) = 1""",
    ),
    (
        "codes",
        """
INSERT INTO coupons_code (campaign_id, code, redemption_limit, redeemed_count, disabled,
    created_at)
SELECT id, template, 1000000, 0, false, now() FROM coupons_campaign""",
    ),
    (
        "coupon redemptions",
        """
INSERT INTO subscriptions_couponredemption (public_id, code_id, campaign_id, customer_id,
    subscription_id, kind, list_price, discount_amount, currency, periods, redeemed_at)
SELECT gen_random_uuid(), c.id, c.campaign_id, s.id, s.id, 'coupon', s.price_amount,
       round(s.price_amount * 0.2, 2), 'EUR', CASE WHEN mod(s.id, 2) = 0 THEN 3 END,
       s.started_at
FROM subscriptions_subscription s
JOIN coupons_code c ON c.campaign_id = (SELECT min(id) FROM coupons_campaign) + mod(s.id, 50)
WHERE s.id > %(corp)s AND mod(s.id, 4) = 0""",
    ),
    (
        "corporate invoices",
        """
INSERT INTO billing_invoice (id, public_id, kind, number, status, customer_id,
    subscription_id, billing, period_start, period_end, currency, language, customer_name,
    customer_address, customer_country, customer_vat_id, reverse_charge, note, net_amount,
    tax_amount, gross_amount, amount_paid, issued_at, due_at, paid_at, pdf, created_at)
SELECT i, gen_random_uuid(), 'invoice', 'K-' || i,
       CASE WHEN m = 1 THEN 'open' ELSE 'paid' END, s, s, 'in_arrears',
       %(month)s - make_interval(months => m), %(month)s - make_interval(months => m - 1),
       'EUR', 'en', 'University ' || s, '', 'DE', '', false, '', 275.00, 52.25, 327.25,
       CASE WHEN m = 1 THEN 0 ELSE 327.25 END,
       %(month)s - make_interval(months => m - 1) + interval '9 hours',
       %(month)s - make_interval(months => m - 1, days => -14),
       CASE WHEN m > 1 THEN %(month)s - make_interval(months => m - 1, days => -6) END,
       '', now()
FROM (SELECT i, mod(i - 1, %(corp)s) + 1 AS s, (i - 1) / %(corp)s + 1 AS m
      FROM generate_series(1, %(corp)s * 12) AS i) AS g""",
    ),
    (
        "regular invoices",
        """
INSERT INTO billing_invoice (id, public_id, kind, number, status, customer_id,
    subscription_id, billing, period_start, period_end, currency, language, customer_name,
    customer_address, customer_country, customer_vat_id, reverse_charge, note, net_amount,
    tax_amount, gross_amount, amount_paid, issued_at, due_at, paid_at, pdf, created_at)
SELECT %(corp)s * 12 + i, gen_random_uuid(), 'invoice', 'R-' || i,
       CASE WHEN m = 0 THEN 'open' WHEN m < 4 AND mod(i, 50) = 0 THEN 'overdue' ELSE 'paid' END,
       s, s, 'in_advance',
       %(month)s - make_interval(months => m), %(month)s - make_interval(months => m - 1),
       'EUR', 'en', 'Reader ' || s, '', 'DE', '', false, '', 11.90, 2.26, 14.16,
       CASE WHEN m = 0 OR (m < 4 AND mod(i, 50) = 0) THEN 0 ELSE 14.16 END,
       %(month)s - make_interval(months => m) + make_interval(hours => 1 + mod(i, 20)),
       %(month)s - make_interval(months => m, days => -14),
       CASE WHEN NOT (m = 0 OR (m < 4 AND mod(i, 50) = 0))
            THEN %(month)s - make_interval(months => m, days => -5) END,
       '', now()
FROM (SELECT i, %(corp)s + mod(i - 1, %(reg)s) + 1 AS s, (i - 1) / %(reg)s AS m
      FROM generate_series(1, %(reg_invoices)s) AS i) AS g""",
    ),
    (
        "invoice lines",
        """
INSERT INTO billing_invoiceline (invoice_id, position, kind, description, product_id,
    counting, quantity, unit_price, net_amount, tax_rate, tax_amount, gross_amount,
    ledger_account)
SELECT i.id, p,
       CASE WHEN i.billing = 'in_arrears' THEN (CASE p WHEN 1 THEN 'usage' ELSE 'base_fee' END)
            ELSE 'subscription' END,
       CASE WHEN p = 1 THEN 'Users' ELSE 'Base fee' END,
       CASE WHEN i.billing = 'in_arrears' THEN %(campus)s ELSE %(digital)s END,
       '', CASE WHEN i.billing = 'in_arrears' AND p = 1 THEN 100 ELSE 1 END,
       CASE WHEN i.billing = 'in_arrears' THEN (CASE p WHEN 1 THEN 2.50 ELSE 25.00 END)
            ELSE (CASE p WHEN 1 THEN 9.90 ELSE 2.00 END) END,
       CASE WHEN i.billing = 'in_arrears' THEN (CASE p WHEN 1 THEN 250.00 ELSE 25.00 END)
            ELSE (CASE p WHEN 1 THEN 9.90 ELSE 2.00 END) END,
       19.00,
       CASE WHEN i.billing = 'in_arrears' THEN (CASE p WHEN 1 THEN 47.50 ELSE 4.75 END)
            ELSE (CASE p WHEN 1 THEN 1.88 ELSE 0.38 END) END,
       CASE WHEN i.billing = 'in_arrears' THEN (CASE p WHEN 1 THEN 297.50 ELSE 29.75 END)
            ELSE (CASE p WHEN 1 THEN 11.78 ELSE 2.38 END) END, ''
FROM billing_invoice i CROSS JOIN generate_series(1, 2) AS p""",
    ),
    (
        "credit notes",
        """
INSERT INTO billing_invoice (id, public_id, kind, number, status, customer_id, subscription_id,
    credited_invoice_id, billing, period_start, period_end, currency, language, customer_name,
    customer_address, customer_country, customer_vat_id, reverse_charge, note, net_amount,
    tax_amount, gross_amount, amount_paid, issued_at, pdf, created_at)
SELECT (SELECT max(id) FROM billing_invoice) + row_number() OVER (ORDER BY i.id),
       gen_random_uuid(), 'credit_note', 'CN-' || i.id, 'paid', i.customer_id,
       i.subscription_id, i.id, i.billing, i.period_start, i.period_end, 'EUR', 'en',
       i.customer_name, '', 'DE', '', false, 'Bench correction', -i.net_amount,
       -i.tax_amount, -i.gross_amount, 0, i.issued_at + interval '3 days', '', now()
FROM billing_invoice i WHERE i.kind = 'invoice' AND mod(i.id, 100) = 0""",
    ),
    (
        "credit note lines",
        """
INSERT INTO billing_invoiceline (invoice_id, position, kind, description, product_id,
    counting, quantity, unit_price, net_amount, tax_rate, tax_amount, gross_amount,
    ledger_account)
SELECT c.id, l.position, 'credit', l.description, l.product_id, l.counting, -l.quantity,
       l.unit_price, -l.net_amount, l.tax_rate, -l.tax_amount, -l.gross_amount, ''
FROM billing_invoice c JOIN billing_invoiceline l ON l.invoice_id = c.credited_invoice_id
WHERE c.kind = 'credit_note'""",
    ),
    (
        "voided invoices",
        """
UPDATE billing_invoice SET status = 'void'
WHERE kind = 'invoice' AND id IN (SELECT credited_invoice_id FROM billing_invoice
                                  WHERE kind = 'credit_note')""",
    ),
]
LOADED_MODELS = [Invoice, InvoiceLine, UserSubscription, get_user_model()]


def _filters(**overrides) -> Filters:
    now = timezone.now()
    last = timezone.localtime(now).date().replace(day=1)
    values = {"first_month": default_first(last), "last_month": last, "currency": "EUR",
              "now": now}  # fmt: skip
    return Filters(**{**values, **overrides})


def _timed(selector, filters: Filters) -> tuple[float, int]:
    selector(filters)  # warm-up
    times, queries = [], 0
    for _run in range(RUNS):
        result = measure(lambda: selector(filters))
        times.append(result.seconds)
        queries = result.queries
    return statistics.median(times), queries


def _page_times() -> list[float]:
    admin = get_user_model().objects.create_superuser(email="bench@kontor.example",
                                                      password=fixtures.BENCH_PASSWORD)  # fmt: skip
    client = Client()
    client.force_login(admin)
    client.get("/admin/")  # warm-up
    times = []
    for _run in range(PAGE_RUNS):
        began = time.perf_counter()
        response = client.get("/admin/")
        times.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise RuntimeError(f"the dashboard answered {response.status_code}")
    return times


def run(scale: int) -> dict:
    began = time.perf_counter()
    ids = load(scale)
    lines = InvoiceLine.objects.count()
    user_subscriptions = UserSubscription.objects.count()
    log(f"{lines} invoice lines, {user_subscriptions} user subscriptions, "
        f"{Invoice.objects.count()} invoices in {time.perf_counter() - began:.1f} s")  # fmt: skip
    load_before = os.getloadavg()[0]
    plain, filtered = _filters(), [_filters(tag_id=ids["tag"]), _filters(product_id=ids["digital"])]
    selectors_ms, queries, seconds, filtered_ms = {}, 0, 0.0, {}
    for chart in CHARTS:
        median, count = _timed(chart.selector, plain)
        selectors_ms[chart.key] = round(median * 1000, 1)
        seconds += median
        queries += count
        filtered_ms[chart.key] = round(
            max(_timed(chart.selector, f)[0] for f in filtered) * 1000, 1
        )
        log(f"{chart.key}: {selectors_ms[chart.key]} ms, {count} queries; "
            f"filtered {filtered_ms[chart.key]} ms")  # fmt: skip
    page = _page_times()
    peak = tracemalloc_peak_mb(lambda: [chart.selector(plain) for chart in CHARTS])
    return {
        "seconds": seconds,
        "baseline_seconds": None,
        "queries": queries,
        "peak_mb": peak,
        "median_ms": round(statistics.median(page) * 1000, 1),
        "p95_ms": round(percentile(page, 95) * 1000, 1),
        "max_ms": max(selectors_ms.values()),
        "filtered_max_ms": max(filtered_ms.values()),
        "selectors_ms": selectors_ms,
        "filtered_ms": filtered_ms,
        # The machine is shared: the 1-minute load average around the timed part.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "invoice_lines": lines,
        "user_subscriptions": user_subscriptions,
    }
