"""The portal's corporate usage page, mounted at portal/usage/ (namespace "usage")."""

from django.urls import path

from . import views_usage

app_name = "usage"

urlpatterns = [
    path("<uuid:public_id>/", views_usage.subscription_usage, name="subscription_usage"),
]
