"""factory-boy factories for seat accounts and their users.

    account = SeatAccountFactory()              # 4 seats, two products, main user set
    account = SeatAccountFactory(maximum_users=5, subscription__products=1)
    UserFactory(email="rita@example.com")

The subscription is a multi-user monthly one started 1 January 2027 (Berlin); its
current period is [2027-01-01, 2027-02-01). Tests that use the default `now` travel to
NOW with time-machine or pass `now=NOW`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import factory
from factory.django import DjangoModelFactory

from seats.models import SeatAccount
from subscriptions.models import Subscription, SubscriptionItem, User
from tests.factories import OfferFactory, ProductFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

BERLIN = ZoneInfo("Europe/Berlin")
# Mid-period of the factory subscription (period ends 2027-02-01).
NOW = datetime(2027, 1, 15, 12, 0, tzinfo=BERLIN)
PERIOD_END = datetime(2027, 2, 1, tzinfo=BERLIN)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = "Tester"
    language = "en"
    password = factory.PostGenerationMethodCall("set_password", "pw-user-1")

    @factory.post_generation
    def _save(self, create, extracted, **kwargs):
        if create:
            self.save()


class MultiUserSubscriptionFactory(SubscriptionFactory):
    """A multi-user subscription (main user + 4) whose customer has a main user, with
    `products` (default 2) included products."""

    offer = factory.SubFactory(OfferFactory, multi_user=True)
    customer = factory.SubFactory(CustomerFactory)

    @factory.post_generation
    def main_user(self, create, extracted, **kwargs):
        if not create:
            return
        user = extracted or UserFactory(customer=self.customer)
        self.customer.main_user = user
        self.customer.save(update_fields=["main_user"])

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        if not create:
            return
        count = 2 if extracted is None else extracted
        products = [self.offer.product] + [ProductFactory() for _ in range(count - 1)]
        for product in products[:count]:
            SubscriptionItem.objects.create(
                subscription=self, product=product, source=SubscriptionItem.Source.INCLUDED
            )

    class Meta:
        model = Subscription
        skip_postgeneration_save = True


class SeatAccountFactory(DjangoModelFactory):
    class Meta:
        model = SeatAccount

    subscription = factory.SubFactory(MultiUserSubscriptionFactory)
    maximum_users = factory.LazyAttribute(lambda o: o.subscription.user_count)
    invitation_validity_days = 14


def activate_mail_templates() -> None:
    """The default mail templates come from a data migration, inactive; a transactional
    test elsewhere empties the table, so put them back (the migration's own idempotent
    function) and switch them on, as a merchant would."""
    from importlib import import_module

    from django.apps import apps as django_apps

    from notifications.models import MailTemplate

    import_module("notifications.migrations.0002_default_mail_templates").create_defaults(
        django_apps, None
    )
    MailTemplate.objects.update(active=True)
