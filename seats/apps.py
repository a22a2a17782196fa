from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SeatsConfig(AppConfig):
    name = "seats"
    verbose_name = _("Seats")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from seats.middleware import activate_on_login

        # Activation by IP range once per session, at login (SPEC §3). A login hook
        # calling one service is the single deliberate use of a signal in this codebase.
        user_logged_in.connect(activate_on_login, dispatch_uid="seats.ip_activation_on_login")
