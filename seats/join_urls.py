"""Public landing pages under /join/ (views/join.py and views/activation.py)."""

from django.urls import path

from .views import activation, join

app_name = "join"

urlpatterns = [
    # An invitation code: register or log in, then redeem.
    path("<str:code>/", join.redeem, name="redeem"),
    # Self-activation by e-mail domain on a subscription's landing page, and the link
    # that confirms the address.
    path("domain/<uuid:account_id>/", activation.domain_register, name="domain_register"),
    path("domain/confirm/<str:token>/", activation.domain_confirm, name="domain_confirm"),
]
