"""One billing run over `scale` corporate subscriptions with 100 users each.

Data (written with ``INSERT … SELECT`` in setup, not through the services): one
corporate offer whose contract prices users graduated (≤ 50 users at 3.00, then 2.00)
with a base fee of 25.00; `scale` company customers, each with a corporate subscription
that started on the first day of last month (merchant time), a seat account and USERS
users of its own (``scale x USERS`` users and user subscriptions) with their STARTED log
rows; one user in ten left mid-month (an ENDED row), and one in twenty started
mid-month. So exactly one accounting period — last month — is due for each.

Timed: `billing_run_start(run_date=today, inline=True, workers=WORKERS)` — finding what
is due, counting users from the log, building the drafts, inserting the invoices and
their lines, the numbers, the issuing UPDATE and the INVOICE_ISSUED events, chunk by
chunk (CHUNK_SIZE subscriptions each, one transaction each) in this process, WORKERS
chunks at a time (threads, each with its own connection, as that many Django-Q2
workers; 2 by default, this machine's cores).

Figures:

- ``seconds``: the run's wall time; ``queries``: the SQL statements it sent on every
  thread's connection (they grow with the chunks, ``chunks`` says how many; each chunk
  also sends three COPY statements, which execute wrappers do not see).
- ``baseline_seconds``: the same counting and inserting as hand-written SQL in one
  transaction (rolled back afterwards, before the timed run): users counted per
  subscription from the log, invoices (drafts) and their two lines priced in SQL,
  numbers taken from the series, the issuing UPDATE and the events — the floor of this
  work in this database.
- ``peak_mb``: the growth of the process's peak resident set size during the run (the
  run cannot be repeated for a tracemalloc pass: a second run finds nothing due).
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, connections, transaction
from django.utils import timezone

from bench import fixtures
from bench.harness import log, maxrss_mb
from billing.models import Invoice, InvoiceLine
from billing.services.runs import CHUNK_SIZE, billing_run_chunk, billing_run_start
from catalog.models import (
    ContractTier,
    CorporateContract,
    CorporateOffer,
    CorporateOfferContract,
    Product,
)
from seats.models import SeatAccount
from subscriptions.models import Customer, Subscription, SubscriptionItem, User

DEFAULT_SCALE = 10_000
USERS = 100
# Chunks invoiced at a time in this process (threads with their own connections), as
# that many Django-Q2 workers would; KONTOR_BENCH_BILLING_WORKERS=1 runs them in turn.
WORKERS = int(os.environ.get("KONTOR_BENCH_BILLING_WORKERS", "2"))


def _last_month() -> tuple[datetime, datetime]:
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(last_month, datetime.min.time()), zone)
    end = timezone.make_aware(datetime.combine(this_month, datetime.min.time()), zone)
    return start, end


@transaction.atomic
def _catalog() -> CorporateOffer:
    product = Product.objects.create(code="bench-campus", name="Campus licence", status="active")
    contract = CorporateContract.objects.create(
        code="bench-contract",
        name="Bench contract",
        product=product,
        status="active",
        currency="EUR",
        base_fee_amount=Decimal("25.00"),
        tier_mode=CorporateContract.TierMode.GRADUATED,
    )
    ContractTier.objects.create(contract=contract, up_to=50, unit_amount=Decimal("3.00"))
    ContractTier.objects.create(contract=contract, up_to=None, unit_amount=Decimal("2.00"))
    offer = CorporateOffer.objects.create(
        code="bench-corporate", name="Bench corporate", status="active",
        valid_from=timezone.now() - timedelta(days=400),
    )  # fmt: skip
    CorporateOfferContract.objects.create(offer=offer, contract=contract)
    return offer


def load(scale: int) -> tuple[datetime, datetime]:
    start, end = _last_month()
    offer = _catalog()
    contract = offer.contracts.get()
    with transaction.atomic():
        fixtures.insert_series(
            Customer,
            scale,
            {
                "id": "i",
                "public_id": "gen_random_uuid()",
                "kind": "'company'",
                "name": "'Bench University ' || i",
                "email": "'billing' || i || '@bench.example'",
                "address_line1": "'Campus ' || i",
                "postal_code": "'10115'",
                "city": "'Berlin'",
                "country": "'DE'",
                "created_at": fixtures.NOW,
                "updated_at": fixtures.NOW,
            },
        )
        fixtures.insert_series(
            Subscription,
            scale,
            {
                "id": "i",
                "public_id": "gen_random_uuid()",
                "customer_id": "i",
                "corporate_offer_id": fixtures.Param(offer.pk),
                "price_amount": fixtures.Param(Decimal("0.00")),
                "currency": "'EUR'",
                "billing_interval_count": "1",
                "billing_interval_unit": "'month'",
                "started_at": fixtures.Param(start),
                "current_period_start": fixtures.Param(start),
                "current_period_end": fixtures.Param(end),
            },
        )
        fixtures.insert_series(
            SubscriptionItem,
            scale,
            {"subscription_id": "i", "product_id": fixtures.Param(contract.product_id),
             "source": "'included'"},
        )  # fmt: skip
        fixtures.insert_series(
            SeatAccount,
            scale,
            {"id": "i", "public_id": "gen_random_uuid()", "subscription_id": "i",
             "created_at": fixtures.NOW},
        )  # fmt: skip
        fixtures.insert_series(
            User,
            scale * USERS,
            {
                "id": "i",
                "public_id": "gen_random_uuid()",
                "email": "'u' || i || '@bench.example'",
                "password": fixtures.Param("!"),
                "date_joined": fixtures.NOW,
            },
        )
        fixtures.reset_sequences([Customer, Subscription, SeatAccount, User])
        _user_subscriptions(scale, contract.product_id, start, end)
    with connection.cursor() as cursor:
        # VACUUM, not only ANALYZE: otherwise autovacuum sets the hint bits and visibility
        # map of the million fresh rows while the baseline or the run is being timed.
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM seats_logentry")  # warm the cache for both
    return start, end


def _user_subscriptions(scale: int, product_id: int, start: datetime, end: datetime) -> None:
    """User i belongs to account (i - 1) / USERS + 1. One in ten ended mid-month, one in
    twenty started mid-month; the rest started before and run on."""
    params = {"product": product_id, "start": start, "end": end, "n": scale * USERS,
              "users": USERS}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO seats_usersubscription
                (id, public_id, seat_account_id, user_id, product_id, state,
                 started_at, ends_at, ended_at, created_at)
            SELECT i, gen_random_uuid(), (i - 1) / %(users)s + 1, i, %(product)s,
                   CASE WHEN mod(i, 10) = 0 THEN 'ended' ELSE 'active' END,
                   CASE WHEN mod(i, 20) = 5 THEN %(start)s + interval '12 days'
                        ELSE %(start)s - interval '3 days' END,
                   CASE WHEN mod(i, 10) = 0 THEN %(start)s + interval '15 days' END,
                   CASE WHEN mod(i, 10) = 0 THEN %(start)s + interval '15 days' END,
                   now()
            FROM generate_series(1, %(n)s) AS i
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO seats_logentry
                (seat_account_id, user_subscription_id, user_id, product_id, action, at, via)
            SELECT seat_account_id, id, user_id, product_id, 'started', started_at, 'staff'
            FROM seats_usersubscription
            UNION ALL
            SELECT seat_account_id, id, user_id, product_id, 'ended', ended_at, 'cancelled'
            FROM seats_usersubscription WHERE ended_at IS NOT NULL
            """
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('seats_usersubscription', 'id'), %s)",
            [scale * USERS],
        )


# --- the hand-written SQL baseline ------------------------------------------------------

BASELINE_SQL = [
    # Foreign keys are checked as the rows go in (the run pays for them at its commits;
    # the baseline rolls back, which would skip deferred checks).
    "SET CONSTRAINTS ALL IMMEDIATE",
    # 1. users per subscription from the log, priced (graduated 50 x 3.00 + rest x 2.00)
    """
    CREATE TEMP TABLE bench_usage ON COMMIT DROP AS
    SELECT a.subscription_id, count(DISTINCT iv.user_id) AS users
    FROM (SELECT seat_account_id, user_id,
                 min(at) FILTER (WHERE action = 'started') AS s,
                 max(at) FILTER (WHERE action = 'ended') AS e
          FROM seats_logentry WHERE at < %(end)s
          GROUP BY user_subscription_id, seat_account_id, user_id) AS iv
    JOIN seats_seataccount a ON a.id = iv.seat_account_id
    WHERE iv.s < %(end)s AND (iv.e IS NULL OR iv.e > %(start)s)
    GROUP BY a.subscription_id
    """,
    # 2. the invoices, as drafts
    """
    CREATE TEMP TABLE bench_invoices ON COMMIT DROP AS
    WITH priced AS (
        SELECT u.subscription_id, u.users,
               least(u.users, 50) * 3.00 + greatest(u.users - 50, 0) * 2.00 AS usage_net
        FROM bench_usage u
    ), ins AS (
        INSERT INTO billing_invoice
            (public_id, kind, status, customer_id, subscription_id, billing, period_start,
             period_end, currency, language, customer_name, customer_address,
             customer_country, customer_vat_id, reverse_charge, note, net_amount, tax_amount,
             gross_amount, amount_paid, pdf, created_at)
        SELECT gen_random_uuid(), 'invoice', 'draft', s.customer_id, s.id, 'in_arrears',
               %(start)s, %(end)s, 'EUR', c.language, c.name, '', c.country, c.vat_id, false, '',
               p.usage_net + 25.00, round((p.usage_net) * 0.19, 2) + 4.75,
               p.usage_net + 25.00 + round((p.usage_net) * 0.19, 2) + 4.75, 0, '', now()
        FROM priced p JOIN subscriptions_subscription s ON s.id = p.subscription_id
        JOIN subscriptions_customer c ON c.id = s.customer_id
        RETURNING id, subscription_id
    )
    SELECT ins.id, ins.subscription_id, p.users, p.usage_net,
           row_number() OVER (ORDER BY ins.subscription_id) AS n
    FROM ins JOIN priced p USING (subscription_id)
    """,
    # 3. their lines: users, base fee
    """
    INSERT INTO billing_invoiceline
        (invoice_id, position, kind, description, product_id, counting, quantity,
         unit_price, net_amount, tax_rate, tax_amount, gross_amount, ledger_account)
    SELECT id, 1, 'usage', 'Campus licence: Users active at any time in the period',
           %(product)s, 'any_time', users, round(usage_net / greatest(users, 1), 4),
           usage_net, 19.00, round(usage_net * 0.19, 2),
           usage_net + round(usage_net * 0.19, 2), ''
    FROM bench_invoices
    UNION ALL
    SELECT id, 2, 'base_fee', 'Campus licence: base fee', %(product)s, '', 1, 25.00, 25.00,
           19.00, 4.75, 29.75, ''
    FROM bench_invoices
    """,
    # 4. numbers from the series row, the issuing UPDATE, the events
    """
    INSERT INTO billing_numberseries (key, last_number) VALUES ('invoice-bench', 0)
    ON CONFLICT (key) DO NOTHING
    """,
    """
    WITH series AS (
        UPDATE billing_numberseries SET last_number = last_number
            + (SELECT count(*) FROM bench_invoices)
        WHERE key = 'invoice-bench' RETURNING last_number - (SELECT count(*) FROM bench_invoices)
            AS first
    )
    UPDATE billing_invoice i
    SET status = 'open', number = 'B-' || lpad((series.first + b.n)::text, 6, '0'),
        issued_at = now(), due_at = now() + interval '14 days'
    FROM bench_invoices b, series WHERE i.id = b.id
    """,
    """
    INSERT INTO notifications_event
        (event_id, type, subject_type, subject_id, payload, mails, occurred_at, created_at)
    SELECT gen_random_uuid(), 'invoice.issued', 'billing.invoice', i.public_id::text,
           jsonb_build_object('invoice', i.public_id, 'number', i.number, 'kind', i.kind,
                              'gross', i.gross_amount::text, 'currency', i.currency),
           jsonb_build_array(jsonb_build_object('template', 'invoice_issued', 'to', c.email,
                              'language', i.language,
                              'context', jsonb_build_object('invoice_number', i.number))),
           now(), now()
    FROM billing_invoice i JOIN bench_invoices b ON b.id = i.id
    JOIN subscriptions_customer c ON c.id = i.customer_id
    """,
]


def baseline(start: datetime, end: datetime, product_id: int) -> float:
    """The hand-written SQL, timed, then rolled back."""
    params = {"start": start, "end": end, "product": product_id}
    began = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in BASELINE_SQL:
                cursor.execute(sql, params)
            seconds = time.perf_counter() - began
            cursor.execute("SELECT count(*) FROM billing_invoice WHERE status = 'open'")
            made = cursor.fetchone()[0]
            raise _Rollback(seconds, made)
    except _Rollback as done:
        log(f"baseline: {done.made} invoices in {done.seconds:.1f} s (rolled back)")
        return done.seconds


class _Rollback(Exception):  # control flow, not an error
    def __init__(self, seconds: float, made: int) -> None:
        self.seconds, self.made = seconds, made


class _Counter:
    """Queries counted on every thread's connection (an execute wrapper per thread)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.count += 1
        return execute(sql, params, many, context)


def _counted(counter: _Counter):
    def runner(**kwargs) -> int:
        with connections["default"].execute_wrapper(counter):
            return billing_run_chunk(**kwargs)

    return runner


def run(scale: int) -> dict:
    began = time.perf_counter()
    start, end = load(scale)
    log(f"{scale} subscriptions, {scale * USERS} user subscriptions loaded "
        f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
    product_id = Product.objects.get(code="bench-campus").pk
    floor = baseline(start, end, product_id)
    with connection.cursor() as cursor:  # clear away the rolled-back rows
        for table in ("billing_invoice", "billing_invoiceline", "notifications_event"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    rss = maxrss_mb()
    counter = _Counter()
    with connections["default"].execute_wrapper(counter):
        began = time.perf_counter()
        billing_run = billing_run_start(
            run_date=timezone.localdate(),
            trigger="bench",
            inline=True,
            workers=WORKERS,
            chunk_runner=_counted(counter),
        )
        seconds = time.perf_counter() - began
    issued = Invoice.objects.filter(billing_run=billing_run).count()
    if issued != scale or billing_run.errors:
        raise RuntimeError(f"expected {scale} invoices, got {issued}: {billing_run.errors[:3]}")
    log(f"run: {issued} invoices, {InvoiceLine.objects.count()} lines in {seconds:.1f} s")
    return {
        "seconds": seconds,
        "baseline_seconds": floor,
        "queries": counter.count,
        "peak_mb": max(maxrss_mb() - rss, 0.0),
        "chunks": billing_run.chunks_total,
        "workers": WORKERS,
        "chunk_size": CHUNK_SIZE,
        "invoices": issued,
        "user_subscriptions": scale * USERS,
    }
