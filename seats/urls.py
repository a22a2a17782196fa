"""The main user's seat administration in the portal, under /portal/seats/."""

from django.urls import path

from .views import activation, portal

app_name = "seats"

urlpatterns = [
    # views/portal.py: the seat list and what the main user does with seats.
    path("<uuid:account_id>/", portal.seat_list, name="seat_list"),
    path("<uuid:account_id>/invite/", portal.invite, name="invite"),
    path("<uuid:account_id>/upload/", portal.upload, name="upload"),
    path("<uuid:account_id>/log/", portal.log, name="log"),
    path("<uuid:account_id>/log.csv", portal.log_csv, name="log_csv"),
    path(
        "<uuid:account_id>/users/<uuid:user_subscription_id>/cancel/",
        portal.cancel,
        name="cancel",
    ),
    path(
        "<uuid:account_id>/users/<uuid:user_subscription_id>/reactivate/",
        portal.reactivate,
        name="reactivate",
    ),
    path(
        "<uuid:account_id>/invitations/<uuid:invitation_id>/revoke/",
        portal.revoke,
        name="revoke",
    ),
    path(
        "<uuid:account_id>/invitations/<uuid:invitation_id>/resend/",
        portal.resend,
        name="resend",
    ),
    # views/activation.py: domains, IP ranges and settings.
    path("<uuid:account_id>/domains/", activation.domains, name="domains"),
    path("<uuid:account_id>/ip-ranges/", activation.ip_ranges, name="ip_ranges"),
    path("<uuid:account_id>/settings/", activation.settings_page, name="settings"),
    # The invited user's own access (views/portal.py).
    path("my-access/", portal.my_access, name="my_access"),
]
