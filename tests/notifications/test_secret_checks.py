"""The system checks of the encryption key (issue 10, point 13), in a real `manage.py
check` process with production settings: `check --deploy` refuses a production without
KONTOR_ENCRYPTION_KEYS (kontor.E013), and every command refuses a malformed key
(kontor.E014) without printing it."""

from __future__ import annotations

import subprocess
import sys

from notifications import crypto
from tests.test_sessions_and_headers import ROOT, production_settings


def _check(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=production_settings(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_refuses_production_without_its_own_encryption_key():
    done = _check("--deploy", KONTOR_ENCRYPTION_KEYS="")

    assert done.returncode == 1
    assert "(kontor.E013) KONTOR_ENCRYPTION_KEYS is not set" in done.stderr
    assert "kontor.E014" not in done.stderr


def test_a_malformed_key_stops_every_command_and_is_not_printed():
    good = crypto.key_generate()

    done = _check(KONTOR_ENCRYPTION_KEYS=f"{good},not-a-fernet-key")

    assert done.returncode == 1
    assert "(kontor.E014) KONTOR_ENCRYPTION_KEYS: key 2 is not a Fernet key" in done.stderr
    assert "not-a-fernet-key" not in done.stdout + done.stderr
    assert good not in done.stdout + done.stderr
    assert "kontor.E013" not in done.stderr  # not a deploy run, and a key is set


def test_two_keys_new_first_pass_the_deploy_check():
    done = _check(
        "--deploy",
        "--fail-level",
        "WARNING",
        KONTOR_ENCRYPTION_KEYS=f"{crypto.key_generate()},{crypto.key_generate()}",
    )

    assert done.returncode == 0, done.stdout + done.stderr
