from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from subscriptions.sessions import limit_staff_session

        user_logged_in.connect(limit_staff_session, dispatch_uid="kontor-staff-session")
