"""`python -m bench billing` runs end to end at a small scale and prints the contract's
JSON line (so a model change that breaks its SQL setup or baseline shows in the suite)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {"name", "scale", "seconds", "baseline_seconds", "ratio", "queries", "peak_mb"}


def test_billing_bench_invoices_every_subscription_and_prints_one_json_line():
    assert os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "config.test_settings"}
    database = f"kontor_billing_smoke_bench_{os.getpid()}"
    done = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "bench", "billing", "--scale", "30", "--db", database],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    result = json.loads(line)
    assert result.keys() >= CONTRACT_KEYS
    assert (result["name"], result["scale"], result["invoices"], result["chunks"]) == (
        "billing",
        30,
        30,
        1,
    )
    assert result["baseline_seconds"] > 0
