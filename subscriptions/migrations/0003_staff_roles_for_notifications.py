"""Give the staff roles the permissions of the notifications models (events, mail
templates and log, callbacks). The sync lives here because notifications imports no
app above it."""

from django.db import migrations

from subscriptions.roles import sync_staff_roles


def forwards(apps, schema_editor):
    sync_staff_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_staff_roles"),
        ("notifications", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
