"""The staff roles pick up the permissions of the seats models."""

from django.db import migrations

from subscriptions.roles import sync_staff_roles


def forwards(apps, schema_editor):
    sync_staff_roles(apps)


class Migration(migrations.Migration):
    dependencies = [("seats", "0001_initial"), ("subscriptions", "0006_subscription_purchase_key")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
