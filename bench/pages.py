"""Server time of every admin changelist and of the portal home, at `scale` catalog rows.

Pages: the changelist of every model in `django.contrib.admin.site._registry` (so a new
admin is benchmarked without touching this file), fetched by a superuser, and the portal
home (/portal/) fetched by a customer. Each page gets WARMUPS (3) untimed requests, then
REQUESTS (30, or ``KONTOR_BENCH_REQUESTS``) timed ones through `django.test.Client`
against PostgreSQL. A pathologically slow page stops early, so one bad page cannot hold
the run up for many minutes: warm-ups stop once they took PAGE_BUDGET_SECONDS / 4, timed
requests once they took PAGE_BUDGET_SECONDS and at least MIN_REQUESTS ran (each page's
``requests`` says how many).

Figures:

- ``seconds``: total wall time of the timed requests of all pages.
- ``median_ms``/``p95_ms``: over all timed requests pooled (each page's own are under
  ``pages``).
- ``queries``: the most SQL queries one request of any page ran (each page's under
  ``pages``). Before loading `scale` rows, the pages are also requested once with
  PROBE_SCALE rows (fewer than a changelist's 100 rows a page); a page whose count
  differs between the two runs is printed as a warning on stderr and listed under
  ``query_growth``: either it queries per row (a bug), or it switches mode past a size
  (the contract-folder tree becomes a paginated list past 500 folders; the contract list
  drops its folder and tag filters past 200 of each), which costs a fixed step.
- ``baseline_seconds``: the SQL floor, run as often as the pages: for every page the two
  queries any logged-in request needs (session, user), and for a changelist also
  ``SELECT count(*)`` and ``SELECT * … ORDER BY <its ordering> LIMIT <list_per_page>``
  on its table. So ``ratio`` says how many times the floor a page costs.
- ``peak_mb``: tracemalloc's peak of Python allocations during one request, in an extra
  untimed pass (tracemalloc slows Python down), the most of any page.
- ``errors``: pages that did not answer 200 (timed all the same; see stderr).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.test import Client
from django.urls import reverse

from bench import fixtures
from bench.harness import count_queries, log, percentile, tracemalloc_peak_mb

WARMUPS = 3
# Fewer timed requests for a quick smoke run (the tests use 2); 30 by default.
REQUESTS = int(os.environ.get("KONTOR_BENCH_REQUESTS", "30"))
PROBE_SCALE = 10
PAGE_BUDGET_SECONDS = 20
MIN_REQUESTS = 5


@dataclass
class Page:
    name: str
    url: str
    client: Client
    floor: list[tuple[str, list]] = field(default_factory=list)
    model: type[models.Model] | None = None


def _floor_ordering(model_admin: admin.ModelAdmin) -> str:
    """The changelist's ordering as SQL, as far as plain fields go, then -pk like Django."""
    opts = model_admin.model._meta
    terms = []
    for item in model_admin.ordering or opts.ordering or ():
        if not isinstance(item, str) or "__" in item or item.lstrip("-") in ("?", "pk"):
            continue
        try:
            column = getattr(opts.get_field(item.lstrip("-")), "column", None)
        except FieldDoesNotExist:  # an annotation or admin method: the floor skips it
            continue
        if column is None:
            continue
        terms.append(f"{connection.ops.quote_name(column)} {'DESC' if item[0] == '-' else 'ASC'}")
    terms.append(f"{connection.ops.quote_name(opts.pk.column)} DESC")
    return ", ".join(terms)


def _login_floor(client: Client, user) -> list[tuple[str, list]]:
    session_key = client.cookies["sessionid"].value
    user_table = connection.ops.quote_name(get_user_model()._meta.db_table)
    return [
        (
            "SELECT session_data FROM django_session WHERE session_key = %s "
            "AND expire_date > now()",
            [session_key],
        ),
        (f"SELECT * FROM {user_table} WHERE id = %s", [user.pk]),
    ]


def _pages(staff: Client, staff_floor: list, customer: Client, customer_floor: list) -> list[Page]:
    pages = []
    for model, model_admin in sorted(
        admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower
    ):
        opts = model._meta
        table = connection.ops.quote_name(opts.db_table)
        floor = [
            *staff_floor,
            (f"SELECT count(*) FROM {table}", []),
            (
                f"SELECT * FROM {table} ORDER BY {_floor_ordering(model_admin)} LIMIT %s",
                [model_admin.list_per_page],
            ),
        ]
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        pages.append(Page(f"admin:{opts.label_lower}", url, staff, floor, model))
    pages.append(Page("portal:home", reverse("subscriptions:home"), customer, customer_floor))
    return pages


def _load(scale: int) -> list[Page]:
    """Empty the tables, load `scale` rows each, log a superuser and a customer in."""
    user_model = get_user_model()
    fixtures.truncate([*fixtures.CATALOG_MODELS, user_model])
    start = time.perf_counter()
    fixtures.load_catalog(scale)
    fixtures.load_customers(scale)
    log(f"loaded {scale} rows per catalog table and users in {time.perf_counter() - start:.1f} s")
    staff_user = user_model.objects.create_superuser(email="bench-admin@kontor.example")
    customer_user = user_model.objects.get(pk=1)
    staff, customer = Client(raise_request_exception=False), Client(raise_request_exception=False)
    staff.force_login(staff_user)
    customer.force_login(customer_user)
    staff_floor = [*_login_floor(staff, staff_user), _verify_second_factor(staff, staff_user)]
    return _pages(staff, staff_floor, customer, _login_floor(customer, customer_user))


def _verify_second_factor(client: Client, user) -> tuple[str, list]:
    """A superuser uses the admin with a verified second factor (security.otp): the
    session names a confirmed TOTP device, which every admin request loads (the floor
    query returned)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    table = connection.ops.quote_name(TOTPDevice._meta.db_table)
    return (f"SELECT * FROM {table} WHERE id = %s", [device.pk])


def _get(page: Page) -> Callable[[], int]:
    def request() -> int:
        response = page.client.get(page.url)
        response.close()
        return response.status_code

    return request


def _query_counts(pages: list[Page]) -> dict[str, int]:
    counts = {}
    for page in pages:
        for _ in range(WARMUPS):
            _get(page)()
        with count_queries() as counter:
            _get(page)()
        counts[page.name] = counter.count
    return counts


def _time_floor(page: Page, times: int) -> list[float]:
    durations = []
    with connection.cursor() as cursor:
        for _ in range(times):
            start = time.perf_counter()
            for sql, params in page.floor:
                cursor.execute(sql, params)
                cursor.fetchall()
            durations.append(time.perf_counter() - start)
    return durations


def _time_page(page: Page) -> dict:
    request = _get(page)
    statuses, start = set(), time.perf_counter()
    for _ in range(WARMUPS):
        statuses.add(request())
        if time.perf_counter() - start > PAGE_BUDGET_SECONDS / 4:
            break
    durations, queries = [], []
    while len(durations) < REQUESTS:
        with count_queries() as counter:
            start = time.perf_counter()
            statuses.add(request())
            durations.append(time.perf_counter() - start)
        queries.append(counter.count)
        if len(durations) >= min(MIN_REQUESTS, REQUESTS) and sum(durations) > PAGE_BUDGET_SECONDS:
            log(f"{page.name} is slow: stopped after {len(durations)} timed requests")
            break
    floor = _time_floor(page, len(durations))
    status = max(statuses, key=lambda code: code != 200)
    if status != 200:
        log(f"WARNING: {page.name} ({page.url}) answered {sorted(statuses)}")
    result = {
        "url": page.url,
        "status": status,
        "median_ms": round(statistics.median(durations) * 1000, 2),
        "p95_ms": round(percentile(durations, 95) * 1000, 2),
        "requests": len(durations),
        "queries": max(queries),
        "baseline_median_ms": round(statistics.median(floor) * 1000, 3),
        "peak_mb": round(tracemalloc_peak_mb(request), 2),
    }
    if min(queries) != max(queries):
        result["queries_min"] = min(queries)
    if page.model is not None:
        result["rows"] = page.model._default_manager.count()
    log(
        f"{page.name}: median {result['median_ms']} ms, p95 {result['p95_ms']} ms, "
        f"{result['queries']} queries, status {status}"
    )
    return {"durations": durations, "floor": floor, "result": result}


def run(scale: int) -> dict:
    probe = None
    if scale > PROBE_SCALE:
        probe = _query_counts(_load(PROBE_SCALE))
    pages = _load(scale)
    timed = {page.name: _time_page(page) for page in pages}

    growth = []
    for name, entry in timed.items():
        if probe is not None and name in probe:
            entry["result"]["queries_at_probe_scale"] = probe[name]
            if probe[name] != entry["result"]["queries"]:
                growth.append(name)
                log(
                    f"WARNING: {name} ran {probe[name]} queries with {PROBE_SCALE} rows but "
                    f"{entry['result']['queries']} with {scale}: it queries per row or "
                    "switches mode past a size"
                )
    durations = [d for entry in timed.values() for d in entry["durations"]]
    return {
        "seconds": sum(durations),
        "baseline_seconds": sum(f for entry in timed.values() for f in entry["floor"]),
        "queries": max(entry["result"]["queries"] for entry in timed.values()),
        "peak_mb": max(entry["result"]["peak_mb"] for entry in timed.values()),
        "median_ms": round(statistics.median(durations) * 1000, 2),
        "p95_ms": round(percentile(durations, 95) * 1000, 2),
        "requests": len(durations),
        "probe_scale": PROBE_SCALE if probe is not None else None,
        "query_growth": growth,
        "errors": sorted(name for name, e in timed.items() if e["result"]["status"] != 200),
        "pages": {name: entry["result"] for name, entry in timed.items()},
    }
