from django.core.management.base import BaseCommand

from notifications.scheduling import sync_schedules


class Command(BaseCommand):
    help = "Create, update or remove Django-Q2 schedules to match those declared in code."

    def handle(self, *args, **options) -> None:
        counts = sync_schedules()
        self.stdout.write(
            "Schedules: {created} created, {updated} updated, {unchanged} unchanged, "
            "{removed} removed.".format(**counts)
        )
