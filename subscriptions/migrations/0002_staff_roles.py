"""Staff roles as groups (data only); see subscriptions/roles.py."""

from django.db import migrations

from subscriptions.roles import sync_staff_roles


def create_staff_roles(apps, schema_editor):
    sync_staff_roles(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("sessions", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("catalog", "0001_initial"),
        ("subscriptions", "0001_initial"),
    ]

    # Going back leaves the groups: they may hold staff users by then.
    operations = [migrations.RunPython(create_staff_roles, migrations.RunPython.noop)]
