"""The staff roles pick up the permissions of customers, subscriptions and payment
methods."""

from django.db import migrations

from subscriptions.roles import sync_staff_roles


def forwards(apps, schema_editor):
    sync_staff_roles(apps)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0004_customers_subscriptions_payment_methods")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
