"""Demo seats (used by `manage.py seed_demo`): the demo corporate subscription's seat
account and a few users with access to every product of its bundle, added as staff add
existing users (`user_add_existing`). Idempotent: a user who ever had access is left
as they are (staff may have cancelled it), so a second run changes nothing."""

from __future__ import annotations

from django.db import transaction

from catalog.demo import SeedLog
from seats.models import UserSubscription
from seats.services.seats import seat_account_for_subscription, user_add_existing
from subscriptions.demo import CORPORATE_CUSTOMER, demo_user
from subscriptions.models import Subscription

# e-mail, first name, last name, language: the university's staff and students.
CORPORATE_USERS = [
    ("lena.berg@uni-musterstadt.example", "Lena", "Berg", "de"),
    ("omar.haddad@uni-musterstadt.example", "Omar", "Haddad", "en"),
    ("julia.kraus@uni-musterstadt.example", "Julia", "Kraus", "de"),
]


def seed_corporate_seats() -> SeedLog:
    log = SeedLog()
    with transaction.atomic():
        subscription = Subscription.objects.get(
            customer__name=CORPORATE_CUSTOMER, corporate_offer__isnull=False
        )
        account = seat_account_for_subscription(subscription=subscription)
        for email, first_name, last_name, language in CORPORATE_USERS:
            user = demo_user(log, email, first_name, last_name, language=language)
            if UserSubscription.objects.filter(seat_account=account, user=user).exists():
                log["unchanged"] += 1
            else:
                user_add_existing(account=account, user=user, actor=None)
                log["created"] += 1
    return log
