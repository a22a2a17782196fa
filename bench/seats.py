"""The main user's seat list (/portal/seats/<account>/) at `scale` seats.

Data: one multi-user subscription whose seat account (no maximum) holds `scale` users,
each with a user subscription for each of two products (2 x scale rows; one user in 20
ended, one in 20 cancelled), and a pending invitation per 20 users, written with
``INSERT … SELECT``. Then, through `django.test.Client` as the account's main user, after
WARMUPS untimed requests: REQUESTS timed requests of the first page, and as many of a
search by e-mail ("seat4242") filtered to active users.

Figures:

- ``seconds``: total wall time of the timed requests; ``median_ms``/``p95_ms`` over all
  of them (each kind's under ``pages``).
- ``queries``: SQL queries one request of the first page ran (the search runs two fewer:
  it lists no invitations, and a result shorter than a page needs no count).
- ``baseline_seconds``: the first page's reads in hand-written SQL, run as often: one
  pass counting seats held and users listed, the invitations holding a seat, the users
  paged with EXISTS, their user subscriptions, the invitations counted and paged — the
  floor a page of this list can cost.
- ``peak_mb``: tracemalloc's peak of Python allocations during one first-page request
  (an extra, untimed pass).
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta

from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench import fixtures
from bench.harness import count_queries, log, percentile, tracemalloc_peak_mb
from catalog.models import Offer, Product
from seats.models import Invitation, SeatAccount
from subscriptions.models import Customer, Subscription, SubscriptionItem, User

DEFAULT_SCALE = 50_000
WARMUPS = 3
REQUESTS = int(os.environ.get("KONTOR_BENCH_REQUESTS", "30"))
SEARCH = {"q": "seat4242", "state": "active"}


@transaction.atomic
def load(scale: int) -> SeatAccount:
    fixtures.load_catalog(2)
    offer = Offer.objects.get(pk=1)
    products = list(Product.objects.order_by("pk")[:2])
    main_user = User.objects.create_user(email="main@bench.example", password=None)
    customer = Customer.objects.create(name="Bench GmbH", kind="company", main_user=main_user)
    main_user.customer = customer
    main_user.save(update_fields=["customer"])
    now = timezone.now()
    subscription = Subscription.objects.create(
        customer=customer,
        offer=offer,
        price_amount=offer.price_amount,
        currency="EUR",
        billing_interval_count=1,
        billing_interval_unit="month",
        user_count=scale,
        started_at=now - timedelta(days=10),
        current_period_start=now - timedelta(days=10),
        current_period_end=now + timedelta(days=20),
    )
    for product in products:
        SubscriptionItem.objects.create(subscription=subscription, product=product)
    account = SeatAccount.objects.create(subscription=subscription, maximum_users=None)
    fixtures.insert_series(
        User,
        scale,
        {
            "email": "'seat' || i || '@bench.example'",
            "password": fixtures.Param("!"),
            "public_id": "gen_random_uuid()",
            "first_name": "'Seat'",
            "last_name": "i::text",
            "date_joined": "now() - i * interval '1 minute'",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO seats_usersubscription
                (public_id, seat_account_id, user_id, product_id, state,
                 started_at, ends_at, ended_at, created_at)
            SELECT gen_random_uuid(), %s, u.id, p.id,
                   CASE mod(u.id, 20) WHEN 0 THEN 'ended' WHEN 1 THEN 'cancelled'
                        ELSE 'active' END,
                   now() - interval '5 days',
                   CASE WHEN mod(u.id, 20) IN (0, 1) THEN now() + interval '5 days' END,
                   CASE WHEN mod(u.id, 20) = 0 THEN now() - interval '1 day' END,
                   now()
            FROM subscriptions_user u CROSS JOIN catalog_product p
            WHERE u.email LIKE 'seat%%@bench.example' AND p.id = ANY(%s)
            """,
            [account.pk, [p.pk for p in products]],
        )
    fixtures.insert_series(
        Invitation,
        scale // 20,
        {
            "seat_account_id": fixtures.Param(account.pk),
            "public_id": "gen_random_uuid()",
            "email": "'invited' || i || '@bench.example'",
            "code_hash": "md5('code' || i) || md5('more' || i)",
            "expires_at": "now() + interval '10 days'",
            "created_at": fixtures.NOW,
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return account


BASELINE_SQL = [
    (
        "SELECT count(DISTINCT user_id), count(DISTINCT user_id) FILTER (WHERE state IN "
        "('active', 'cancelled')) FROM seats_usersubscription WHERE seat_account_id = %(a)s"
    ),
    (
        "SELECT count(*) FROM seats_invitation WHERE seat_account_id = %(a)s "
        "AND status = 'pending' AND expires_at > now()"
    ),
    (
        "SELECT u.* FROM subscriptions_user u WHERE EXISTS (SELECT 1 FROM "
        "seats_usersubscription s WHERE s.seat_account_id = %(a)s AND s.user_id = u.id) "
        "ORDER BY u.email, u.id LIMIT 50"
    ),
    (
        "SELECT s.*, p.* FROM seats_usersubscription s JOIN catalog_product p "
        "ON p.id = s.product_id WHERE s.seat_account_id = %(a)s AND s.user_id IN "
        "(SELECT u.id FROM subscriptions_user u WHERE EXISTS (SELECT 1 FROM "
        "seats_usersubscription s2 WHERE s2.seat_account_id = %(a)s AND s2.user_id = u.id) "
        "ORDER BY u.email, u.id LIMIT 50) ORDER BY p.name"
    ),
    ("SELECT count(*) FROM seats_invitation WHERE seat_account_id = %(a)s AND status = 'pending'"),
    (
        "SELECT * FROM seats_invitation WHERE seat_account_id = %(a)s "
        "AND status = 'pending' ORDER BY email, id LIMIT 50"
    ),
]


def baseline(account: SeatAccount) -> float:
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in BASELINE_SQL:
            cursor.execute(sql, {"a": account.pk})
            cursor.fetchall()
    return time.perf_counter() - start


def run(scale: int) -> dict:
    start = time.perf_counter()
    account = load(scale)
    log(f"{scale} seats loaded in {time.perf_counter() - start:.1f} s")
    client = Client()
    client.force_login(account.subscription.customer.main_user)
    url = reverse("seats:seat_list", args=[account.public_id])
    pages = {"first_page": {}, "search": SEARCH}
    for params in pages.values():
        for _ in range(WARMUPS):
            response = client.get(url, params)
            if response.status_code != 200:
                raise RuntimeError(f"the seat list answered {response.status_code}")
    with count_queries() as counter:
        client.get(url)
    timed: dict[str, list[float]] = {}
    for name, params in pages.items():
        durations = []
        for _ in range(REQUESTS):
            begin = time.perf_counter()
            client.get(url, params)
            durations.append(time.perf_counter() - begin)
        timed[name] = durations
    floor = sum(baseline(account) for _ in range(REQUESTS * len(pages)))
    everything = [d for durations in timed.values() for d in durations]
    return {
        "seconds": sum(everything),
        "baseline_seconds": floor,
        "queries": counter.count,
        "peak_mb": tracemalloc_peak_mb(lambda: client.get(url)),
        "median_ms": round(statistics.median(everything) * 1000, 2),
        "p95_ms": round(percentile(everything, 95) * 1000, 2),
        "requests": len(everything),
        "pages": {
            name: {
                "median_ms": round(statistics.median(d) * 1000, 2),
                "p95_ms": round(percentile(d, 95) * 1000, 2),
            }
            for name, d in timed.items()
        },
    }
