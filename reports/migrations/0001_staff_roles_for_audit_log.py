"""Administrators may read the audit log (django-auditlog's LogEntry), nobody else.

In `reports`, the top app, because it depends on every app's latest permissions and may
import `subscriptions.roles`."""

from django.db import migrations

from subscriptions.roles import sync_staff_roles


def grant_roles(apps, schema_editor):
    sync_staff_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auditlog", "0017_add_actor_email"),
        ("api", "0001_api_keys_and_idempotency"),
        ("billing", "0008_billingrun_chunks_recorded"),
        ("catalog", "0006_contract_user_counting"),
        ("coupons", "0002_campaign_kind_labels"),
        ("notifications", "0008_encrypt_callback_secrets"),
        ("seats", "0003_report_running_users_index"),
        ("subscriptions", "0011_staff_roles_for_security"),
        ("security", "0001_initial"),
        ("otp_totp", "0003_add_timestamps"),
    ]
    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
