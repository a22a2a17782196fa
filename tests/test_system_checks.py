"""Django's system checks (admin configuration, models, URLs) pass: a broken admin
option would otherwise only show in `manage.py check`, not in a test."""

from django.core.management import call_command


def test_django_system_checks_report_no_errors():
    call_command("check", fail_level="WARNING")
