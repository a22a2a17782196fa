"""The bench harness: command line, a database of its own, measuring helpers.

`main()` parses ``NAME [--scale N] [--db NAME] [--keep-db]``, sets Django up against a
fresh database (default ``kontor_bench``) on the server of ``DATABASE_URL``, migrates
it, calls ``bench.<NAME>.run(scale)`` and prints the one JSON line to stdout. Anything
else that would reach stdout while the benchmark runs (migrate, print, logging) is sent
to stderr, so stdout holds the JSON line alone.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import pkgutil
import re
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SCALE = 10_000
DEFAULT_DB = "kontor_bench"
REQUIRED_KEYS = ("seconds", "baseline_seconds", "queries", "peak_mb")
HELPER_MODULES = {"harness", "fixtures"}
# Only names like these are ever dropped: a typo must not drop someone's database.
SAFE_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]*bench[a-z0-9_]*$")


def log(message: str) -> None:
    """Progress for people: always stderr, never the JSON line's stdout."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- measuring -------------------------------------------------------------------------


class QueryCounter:
    """An `execute_wrapper` that counts every SQL statement sent on the connection."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextlib.contextmanager
def count_queries(using: str = "default") -> Iterator[QueryCounter]:
    """Count the queries run inside the block (works with DEBUG off)."""
    from django.db import connections

    counter = QueryCounter()
    with connections[using].execute_wrapper(counter):
        yield counter


@dataclass(frozen=True)
class Measurement:
    seconds: float
    queries: int
    result: Any


def measure(fn: Callable[[], Any], using: str = "default") -> Measurement:
    """Run `fn` once: wall time (perf_counter) and the queries it ran."""
    with count_queries(using) as counter:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return Measurement(seconds=seconds, queries=counter.count, result=result)


def tracemalloc_peak_mb(fn: Callable[[], Any]) -> float:
    """Peak of Python allocations (MiB) while `fn` runs, measured with tracemalloc.

    tracemalloc slows Python down a lot, so run this in a separate, untimed pass.
    It sees Python objects only, not memory held by C libraries or the database.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return (peak - baseline) / 2**20


def maxrss_mb() -> float:
    """The process's peak resident set size so far, in MiB (Linux reports KiB).

    A high-water mark: the growth of it across a piece of work is that work's peak only
    when the work needs more than anything before it did.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


# --- the benchmark's own database ------------------------------------------------------


def bench_database_url(database_url: str, db_name: str) -> str:
    """The same server and credentials as `database_url`, another database name."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/" + db_name))


def configure_django(db_name: str) -> None:
    """Point Django's default database at `db_name` and set Django up (no queries yet)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise SystemExit(
            "bench: DATABASE_URL must name a PostgreSQL server, e.g.\n"
            "  export DATABASE_URL=$(./scripts/test-postgres.sh)"
        )
    os.environ["DATABASE_URL"] = bench_database_url(database_url, db_name)

    import django

    django.setup()

    from django.db import connection

    if connection.vendor != "postgresql" or connection.settings_dict["NAME"] != db_name:
        raise SystemExit(
            f"bench: settings {os.environ['DJANGO_SETTINGS_MODULE']} do not take the "
            f"database from DATABASE_URL; refusing to run outside {db_name}."
        )


@contextlib.contextmanager
def _maintenance_cursor():
    """A cursor on the server's `postgres` database, outside any transaction."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params["dbname"] = "postgres"
    with psycopg.connect(**params, autocommit=True) as conn, conn.cursor() as cursor:
        yield cursor


def drop_database(db_name: str) -> None:
    from psycopg import sql

    with _maintenance_cursor() as cursor:
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name))
        )


def create_database(db_name: str) -> None:
    """Drop and create `db_name`, then migrate it quietly."""
    from django.core.management import call_command
    from django.db import connection
    from psycopg import sql

    if not SAFE_DB_NAME.match(db_name):
        raise SystemExit(f"bench: refusing database name {db_name!r} (needs 'bench' in it).")
    connection.close()
    drop_database(db_name)
    with _maintenance_cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
    start = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0, stdout=sys.stderr)
    log(f"database {db_name} created and migrated in {time.perf_counter() - start:.1f} s")


# --- command line ----------------------------------------------------------------------


def available() -> list[str]:
    """Benchmark names: the modules of this package, less the helpers."""
    import bench

    return sorted(
        info.name
        for info in pkgutil.iter_modules(bench.__path__)
        if not info.name.startswith("_") and info.name not in HELPER_MODULES
    )


def finish(name: str, scale: int, result: dict) -> dict:
    """Check what `run` returned and put the contract's keys first."""
    missing = [key for key in REQUIRED_KEYS if key not in result]
    if missing:
        raise ValueError(f"bench.{name}.run() returned no {', '.join(missing)}")
    seconds, baseline = result["seconds"], result["baseline_seconds"]
    ratio = seconds / baseline if baseline else None
    head = {
        "name": name,
        "scale": scale,
        "seconds": round(seconds, 4),
        "baseline_seconds": None if baseline is None else round(baseline, 4),
        "ratio": None if ratio is None else round(ratio, 2),
        "queries": result["queries"],
        "peak_mb": None if result["peak_mb"] is None else round(result["peak_mb"], 2),
    }
    return head | {key: value for key, value in result.items() if key not in head}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run one Kontor benchmark; print one JSON line."
    )
    parser.add_argument("name", nargs="?", help="benchmark (a module of bench/)")
    parser.add_argument("--scale", type=int, help="rows to generate (default per benchmark)")
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database to use (default {DEFAULT_DB})")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    args = parser.parse_args(argv)
    if args.list:
        return args
    if args.name not in available():
        parser.error(f"choose a benchmark: {', '.join(available())}")
    if args.scale is not None and args.scale < 1:
        parser.error("--scale must be at least 1")
    if not SAFE_DB_NAME.match(args.db):
        parser.error("--db must be lower-case letters, digits, _ and contain 'bench'")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(available()))
        return 0
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        configure_django(args.db)
        module = importlib.import_module(f"bench.{args.name}")
        if not callable(getattr(module, "run", None)):
            raise SystemExit(f"bench: bench.{args.name} has no run(scale) function")
        scale = args.scale or getattr(module, "DEFAULT_SCALE", DEFAULT_SCALE)
        create_database(args.db)
        try:
            log(f"running {args.name} at scale {scale}")
            result = finish(args.name, scale, module.run(scale))
        finally:
            from django.db import connections

            connections.close_all()
            if not args.keep_db:
                drop_database(args.db)
    stdout.write(json.dumps(result) + "\n")
    stdout.flush()
    return 0
