from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from notifications import (  # noqa: F401 (registers the checks)
            queue_checks,
            receivers,
            secret_checks,
        )

        receivers.connect()
