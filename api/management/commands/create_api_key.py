"""Create an API key and print it once:

manage.py create_api_key --name "Shop" --scopes read,seats,coupons,billing
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from api.models import Scope
from api.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for the integration API; the key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="What the key is for.")
        parser.add_argument(
            "--scopes",
            required=True,
            help="Comma-separated, of: " + ", ".join(Scope.values),
        )

    def handle(self, *args, name: str, scopes: str, **options):
        try:
            api_key, key = api_key_create(name=name, scopes=scopes.split(","))
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stderr.write(
            f"API key {api_key.name!r} with scopes {', '.join(api_key.scopes)}. "
            "Store it now: it is not shown again."
        )
        self.stdout.write(key)
