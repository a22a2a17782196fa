"""Re-encrypt callback secrets with the first key of KONTOR_ENCRYPTION_KEYS.

Rotating the encryption key: `--generate` prints a new key; put it first in
KONTOR_ENCRYPTION_KEYS (keep the old one after it) on every machine, run this command,
then remove the old key.
"""

from django.core.management.base import BaseCommand

from notifications import crypto
from notifications.services.callbacks import callback_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Encrypt every callback secret again with the first key of KONTOR_ENCRYPTION_KEYS "
        "(--generate: print a new key instead)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--generate", action="store_true", help="Print a new key and change nothing."
        )

    def handle(self, *args, generate: bool = False, **options) -> None:
        if generate:
            self.stdout.write(crypto.key_generate())
            return
        count = callback_secrets_reencrypt()
        self.stdout.write(f"Callback endpoints re-encrypted with the first key: {count}.")
