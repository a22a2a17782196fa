"""Give the staff roles the permissions of the security app's failures and django-otp's
TOTP devices (Administrators: "*", so they may delete a lost device in the admin). The
sync lives here because security imports no app above it."""

from django.db import migrations

from subscriptions.roles import sync_staff_roles


def forwards(apps, schema_editor):
    sync_staff_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0010_customer_buyer_reference"),
        ("security", "0001_initial"),
        ("otp_totp", "0003_add_timestamps"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
