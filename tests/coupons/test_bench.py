"""`python -m bench coupons` runs end to end and prints the one JSON line of the contract."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {"name", "scale", "seconds", "baseline_seconds", "ratio", "queries", "peak_mb"}


def test_the_coupons_bench_prints_one_json_line_with_sane_figures():
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "config.test_settings"}
    database = f"kontor_bench_coupons_{os.getpid()}"
    run = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "bench", "coupons", "--scale", "3000", "--db", database],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1, run.stdout
    result = json.loads(lines[0])
    assert result.keys() >= CONTRACT_KEYS
    assert (result["name"], result["scale"]) == ("coupons", 3000)
    assert result["seconds"] > 0
    assert result["baseline_seconds"] > 0
    assert result["queries"] > 0
    assert result["peak_mb"] > 0
