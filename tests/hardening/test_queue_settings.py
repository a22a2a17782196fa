"""Issue 10, queue settings: the Django-Q2 cluster is configured so a task never runs
twice at once, never retries for ever, and missed schedules do not pile up; a
misconfiguration through the environment stops every management command."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django_q.conf import Conf

from notifications.queue_checks import queue_settings_problems

ROOT = Path(__file__).resolve().parents[2]
SAFE = {"timeout": 300, "retry": 360, "max_attempts": 5, "catch_up": False, "workers": 2}


def test_the_configured_cluster_is_safe():
    conf = settings.Q_CLUSTER
    assert queue_settings_problems(conf) == []
    assert 0 < conf["timeout"] < conf["retry"]
    assert 0 < conf["max_attempts"] < 100
    assert conf["catch_up"] is False
    assert conf["workers"] >= 2
    # What Django-Q2 itself read at import is the same.
    assert (
        conf["timeout"], conf["retry"], conf["max_attempts"], False
    ) == (Conf.TIMEOUT, Conf.RETRY, Conf.MAX_ATTEMPTS, Conf.CATCH_UP)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"timeout": None}, "['timeout'] must be set"),
        ({"timeout": 360}, "must be shorter than"),
        ({"timeout": 400}, "must be shorter than"),
        ({"retry": None}, "must be shorter than"),
        ({"max_attempts": 0}, "['max_attempts'] must be a finite"),
        ({"max_attempts": None}, "['max_attempts'] must be a finite"),
        ({"catch_up": True}, "['catch_up'] must be False"),
        ({"workers": 1}, "['workers'] must be at least 2"),
    ],
)
def test_an_unsafe_cluster_setting_is_reported(change, complaint):
    problems = queue_settings_problems({**SAFE, **change})
    assert len(problems) == 1
    assert complaint in problems[0]


def test_a_misconfigured_environment_stops_management_commands():
    """The real process: `manage.py check` (and so qcluster, runserver) exits non-zero."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings",
           "KONTOR_Q_TIMEOUT": "400", "KONTOR_Q_WORKERS": "1"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "kontor.E001" in result.stderr
    assert "(400) must be shorter than Q_CLUSTER['retry'] (360)" in result.stderr
    assert "['workers'] must be at least 2" in result.stderr


def test_the_demo_starts_at_least_two_workers():
    script = (ROOT / "scripts" / "demo.sh").read_text()
    default = re.search(r"export KONTOR_Q_WORKERS=\$\{KONTOR_Q_WORKERS:-(\d+)\}", script)
    assert default is not None
    assert int(default.group(1)) >= 2
    assert script.index("export KONTOR_Q_WORKERS") < script.index("manage.py qcluster")
