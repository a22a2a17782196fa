"""Kontor's admin site: Django's, with the reports dashboard as its index.

The app list the stock index shows moves to `admin:apps` (linked from the dashboard,
and still in the sidebar of every page)."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.urls import path

from security.admin_site import TwoFactorAdminSiteMixin


class KontorAdminSite(TwoFactorAdminSiteMixin, AdminSite):
    def index(self, request, extra_context=None):
        from .views import dashboard

        return dashboard(request, self)

    def app_list_view(self, request):
        """The stock index: every app and model this user may see."""
        return super().index(request)

    def get_urls(self):
        from . import views

        def site_view(view):
            def with_site(request, *args, **kwargs):
                return view(request, *args, site=self, **kwargs)

            return self.admin_view(with_site)

        return [
            path("apps/", self.admin_view(self.app_list_view), name="apps"),
            path(
                "reports/charts/<slug:key>.csv",
                self.admin_view(views.dashboard_csv),
                name="reports_chart_csv",
            ),
            path(
                "reports/corporate/<uuid:public_id>/",
                site_view(views.corporate_account),
                name="reports_corporate_account",
            ),
            *super().get_urls(),
        ]
