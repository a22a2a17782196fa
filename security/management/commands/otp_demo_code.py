"""`manage.py otp_demo_code`: the current two-factor code of the demo Administrator.

It computes the code from the demo's published secret (security/demo.py), not from any
stored device, so it tells nothing about a real user's device."""

from django.core.management.base import BaseCommand

from security.demo import DEMO_SECRET, demo_code


class Command(BaseCommand):
    help = "Print the demo Administrator's current two-factor code (valid about 30 s)."

    def handle(self, *args, **options):
        self.stdout.write(demo_code())
        self.stdout.write(f"(or add the secret {DEMO_SECRET} to an authenticator app)")
