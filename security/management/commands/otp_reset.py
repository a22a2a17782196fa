"""`manage.py otp_reset EMAIL`: remove a staff member's two-factor devices (a lost phone).

They log in with their password next time and, if their role needs two-factor login,
set up a new app before they can use the admin (docs/security.md)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from security.otp import devices_reset


class Command(BaseCommand):
    help = "Remove a user's two-factor (TOTP) devices so they enrol again at the next login."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The user's e-mail address.")

    def handle(self, *args, email: str, **options):
        user_model = get_user_model()
        user = user_model.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the e-mail address {email}.")
        removed = devices_reset(user=user)
        self.stdout.write(f"Removed {removed} two-factor device(s) of {user.get_username()}.")
