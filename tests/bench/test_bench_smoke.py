"""`python -m bench pages` runs end to end and prints the one JSON line of the contract."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {"name", "scale", "seconds", "baseline_seconds", "ratio", "queries", "peak_mb"}


@pytest.fixture(scope="module")
def pages_run():
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.fail("DATABASE_URL must name a PostgreSQL server (make test sets it)")
    env = os.environ | {
        "KONTOR_BENCH_REQUESTS": "2",
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
    }
    # A database of its own, so a bench run by hand at the same time is not disturbed.
    database = f"kontor_bench_smoke_{os.getpid()}"
    return subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "bench", "pages", "--scale", "20", "--db", database],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pages_bench_prints_exactly_one_json_line(pages_run):
    assert pages_run.returncode == 0, pages_run.stderr
    lines = pages_run.stdout.splitlines()
    assert len(lines) == 1, pages_run.stdout
    result = json.loads(lines[0])
    assert CONTRACT_KEYS | {"median_ms", "p95_ms", "pages"} <= result.keys()
    assert result["name"] == "pages"
    assert result["scale"] == 20


def test_pages_bench_figures_are_sane(pages_run):
    result = json.loads(pages_run.stdout)
    assert result["seconds"] > 0
    assert result["baseline_seconds"] > 0
    assert result["ratio"] == pytest.approx(result["seconds"] / result["baseline_seconds"], 0.01)
    assert result["median_ms"] > 0
    assert result["p95_ms"] >= result["median_ms"]
    assert result["queries"] > 0
    assert result["peak_mb"] > 0


def test_pages_bench_covers_every_admin_changelist_and_the_portal(pages_run):
    pages = json.loads(pages_run.stdout)["pages"]
    assert "portal:home" in pages
    assert "admin:subscriptions.user" in pages
    assert all(page["median_ms"] > 0 and page["queries"] > 0 for page in pages.values())
    assert all(page["status"] == 200 for page in pages.values()), {
        name: page["status"] for name, page in pages.items() if page["status"] != 200
    }
