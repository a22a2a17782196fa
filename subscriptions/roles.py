"""Merchant staff roles: Django groups whose permissions are defined here, as data.

A role maps a *scope* to the actions it may perform there. A scope is an app label
(``"catalog"``), one model (``"subscriptions.user"``) or ``"*"`` (every app). The
actions are a set of Django's default permission actions (``"view"``, ``"add"``,
``"change"``, ``"delete"``) or ``ALL``, which also grants the app's custom permissions.
The most specific scope wins: model, then app, then ``"*"``.

The user model lives in ``subscriptions`` but stands for "users" in the merchant's
sense (staff accounts, groups, superuser status), so it is scoped on its own: only
Administrators manage users, Customer support may look them up.

``sync_staff_roles(apps)`` creates the groups and sets each group's permissions to
exactly what its role grants. It is **re-runnable** and meant to be re-run: when an app
adds models, a data migration that calls it picks up their permissions. The migration
lives in an app that may import this one (``subscriptions`` itself for apps below it,
as ``0003_staff_roles_for_notifications`` does; the app's own for seats and billing)::

    from django.db import migrations

    from subscriptions.roles import sync_staff_roles


    def forwards(apps, schema_editor):
        sync_staff_roles(apps)


    class Migration(migrations.Migration):
        dependencies = [("billing", "0001_initial"), ("subscriptions", "0002_staff_roles")]
        operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

Because every sync sets the permissions exactly, permissions added to these groups by
hand are removed by the next sync; give extra rights through a separate group.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.utils.translation import gettext_lazy as _

ALL = "all"
VIEW = frozenset({"view"})
NOTHING: frozenset[str] = frozenset()

CATALOG_MANAGER = "Catalog manager"
CUSTOMER_SUPPORT = "Customer support"
FINANCE = "Finance"
ADMINISTRATOR = "Administrator"

Actions = frozenset[str] | str

STAFF_ROLES: dict[str, dict[str, Actions]] = {
    CATALOG_MANAGER: {
        "catalog": ALL,
        "coupons": ALL,
        "subscriptions": VIEW,
        "subscriptions.user": NOTHING,
        "seats": VIEW,
    },
    CUSTOMER_SUPPORT: {
        "catalog": VIEW,
        "coupons": VIEW,
        "subscriptions": frozenset({"view", "add", "change"}),
        "subscriptions.user": VIEW,
        "seats": frozenset({"view", "add", "change"}),
        "billing": VIEW,
        "notifications": VIEW,
    },
    FINANCE: {
        "catalog": VIEW,
        "coupons": VIEW,
        "subscriptions": VIEW,
        "subscriptions.user": NOTHING,
        "seats": VIEW,
        "billing": ALL,
        "notifications": VIEW,
    },
    # The audit log (django-auditlog's LogEntry) is for Administrators only, and only to
    # read: its entries are never edited or deleted through the admin.
    ADMINISTRATOR: {"*": ALL, "auditlog": VIEW},
}

# The group names are data (they are stored in the database in English); these are
# their translations for pages that show a role.
ROLE_LABELS = {
    CATALOG_MANAGER: _("Catalog manager"),
    CUSTOMER_SUPPORT: _("Customer support"),
    FINANCE: _("Finance"),
    ADMINISTRATOR: _("Administrator"),
}


def role_grants(role: Mapping[str, Actions], *, app_label: str, model: str, codename: str) -> bool:
    """Whether a role holds one permission (`model` is the content type's model name)."""
    for scope in (f"{app_label}.{model}", app_label, "*"):
        if scope in role:
            actions = role[scope]
            if actions == ALL:
                return True
            return any(codename == f"{action}_{model}" for action in actions)
    return False


def create_all_permissions(apps: Any, *, using: str = "default") -> None:
    """Create content types and permissions now, not at the end of `migrate`.

    `create_permissions` also creates the content types. Django runs it in a
    post_migrate signal, after every migration has run, so on a
    fresh database a data migration would otherwise find no permissions at all. Apps
    whose models are not in `apps` (the historical state) yet are skipped.
    """
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=apps)


def sync_staff_roles(apps: Any = global_apps, *, using: str = "default") -> None:
    """Create or update the staff role groups; safe to run any number of times."""
    create_all_permissions(apps, using=using)
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = list(
        permission_model.objects.using(using)
        .select_related("content_type")
        .order_by("content_type__app_label", "codename")
    )
    for name, role in STAFF_ROLES.items():
        group, _created = group_model.objects.using(using).get_or_create(name=name)
        group.permissions.set(_granted(role, permissions))


def _granted(role: Mapping[str, Actions], permissions: Iterable[Any]) -> list[Any]:
    return [
        permission
        for permission in permissions
        if role_grants(
            role,
            app_label=permission.content_type.app_label,
            model=permission.content_type.model,
            codename=permission.codename,
        )
    ]
