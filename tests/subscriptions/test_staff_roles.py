"""Staff roles: groups created by a data migration from subscriptions/roles.py."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from subscriptions.roles import (
    ADMINISTRATOR,
    ALL,
    CATALOG_MANAGER,
    CUSTOMER_SUPPORT,
    FINANCE,
    role_grants,
    sync_staff_roles,
)

pytestmark = pytest.mark.django_db

ACTIONS = ("add", "change", "delete", "view")


def _catalog_codenames(*actions: str) -> set[str]:
    return {
        f"catalog.{action}_{model._meta.model_name}"
        for model in apps.get_app_config("catalog").get_models()
        for action in actions
    }


def _permissions(role: str, app_label: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.filter(content_type__app_label=app_label).select_related(
            "content_type"
        )
    }


def test_migrations_create_the_four_staff_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        CATALOG_MANAGER,
        CUSTOMER_SUPPORT,
        FINANCE,
        ADMINISTRATOR,
    }


def test_catalog_manager_may_do_everything_in_the_catalog():
    permissions = _permissions(CATALOG_MANAGER, "catalog")

    assert permissions == _catalog_codenames(*ACTIONS)
    assert "catalog.add_offer" in permissions


def test_customer_support_views_the_catalog_without_changing_it():
    permissions = _permissions(CUSTOMER_SUPPORT, "catalog")

    assert permissions == _catalog_codenames("view")
    assert "catalog.view_offer" in permissions
    assert "catalog.change_offer" not in permissions


def test_finance_views_the_catalog_without_changing_it():
    assert _permissions(FINANCE, "catalog") == _catalog_codenames("view")


def test_only_administrators_manage_users():
    assert {
        p for p in _permissions(CATALOG_MANAGER, "subscriptions") if p.endswith("_user")
    } == set()
    assert {p for p in _permissions(FINANCE, "subscriptions") if p.endswith("_user")} == set()
    assert {p for p in _permissions(CUSTOMER_SUPPORT, "subscriptions") if p.endswith("_user")} == {
        "subscriptions.view_user"
    }
    assert {p for p in _permissions(ADMINISTRATOR, "subscriptions") if p.endswith("_user")} == {
        f"subscriptions.{action}_user" for action in ACTIONS
    }


def test_administrator_holds_every_permission_including_groups_and_tasks():
    administrator = Group.objects.get(name=ADMINISTRATOR)

    granted = set(administrator.permissions.values_list("pk", flat=True))

    missing = Permission.objects.exclude(pk__in=granted).select_related("content_type")
    # The audit log is read-only, for Administrators too (docs/audit.md).
    read_only = {"add_logentry", "change_logentry", "delete_logentry"}
    assert {p.codename for p in missing if p.content_type.app_label == "auditlog"} == read_only
    missing = [p for p in missing if p.content_type.app_label != "auditlog"]
    assert missing == [], "An app added models without a migration calling sync_staff_roles"
    assert administrator.permissions.filter(codename="change_group").exists()
    assert administrator.permissions.filter(content_type__app_label="django_q").count() > 0


def test_sync_staff_roles_runs_again_and_restores_each_roles_permissions():
    support = Group.objects.get(name=CUSTOMER_SUPPORT)
    support.permissions.remove(Permission.objects.get(codename="view_offer"))
    support.permissions.add(Permission.objects.get(codename="delete_offer"))
    before = {g.name: set(g.permissions.all()) for g in Group.objects.all()}
    groups = Group.objects.count()

    sync_staff_roles()
    sync_staff_roles()

    assert Group.objects.count() == groups
    assert _permissions(CUSTOMER_SUPPORT, "catalog") == _catalog_codenames("view")
    after = {g.name: set(g.permissions.all()) for g in Group.objects.exclude(name=CUSTOMER_SUPPORT)}
    assert after == {name: perms for name, perms in before.items() if name != CUSTOMER_SUPPORT}


def test_a_model_scope_overrides_its_apps_scope():
    role = {"subscriptions": ALL, "subscriptions.user": frozenset({"view"})}

    assert role_grants(role, app_label="subscriptions", model="user", codename="view_user")
    assert not role_grants(role, app_label="subscriptions", model="user", codename="change_user")
    assert role_grants(role, app_label="subscriptions", model="account", codename="delete_account")


def test_all_grants_custom_permissions_and_a_set_only_default_ones():
    assert role_grants({"billing": ALL}, app_label="billing", model="invoice", codename="export")
    assert not role_grants(
        {"billing": frozenset({"view"})}, app_label="billing", model="invoice", codename="export"
    )
    assert role_grants({"*": ALL}, app_label="auth", model="group", codename="add_group")
    assert not role_grants({"catalog": ALL}, app_label="auth", model="group", codename="add_group")
