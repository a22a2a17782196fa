from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Reports for merchant staff: the admin's dashboard and the corporate account page.
    At the top of the import order: it reads every other app, nothing imports it."""

    default = True
    name = "reports"
    verbose_name = _("Reports")


class KontorAdminConfig(admin_apps.AdminConfig):
    """Django's admin with Kontor's site, whose index is the reports dashboard."""

    default = False
    default_site = "reports.sites.KontorAdminSite"
