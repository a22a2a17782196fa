from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from config.api import api

admin.site.site_header = _("Kontor merchant backend")
admin.site.site_title = _("Kontor")
admin.site.index_title = _("Merchant backend")

urlpatterns = [
    # Browsers ask for /favicon.ico on every page, the admin's included.
    path("favicon.ico", RedirectView.as_view(url=static("img/kontor-logo.svg"), permanent=True)),
    path("", RedirectView.as_view(pattern_name="subscriptions:home", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/seats/", include("seats.urls")),
    path("portal/usage/", include("billing.usage_urls")),
    path("portal/", include("subscriptions.urls")),
    path("join/", include("seats.join_urls")),
    path("billing/", include("billing.urls")),
    # The ESP's delivery reports (bounces, complaints) through anymail's tracking webhooks.
    path("anymail/", include("anymail.urls")),
]
