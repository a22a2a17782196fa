"""`python manage.py seed_demo`: the demo data (ARCHITECTURE.md, "Interfaces").

Idempotent: run it any number of times; the second run creates and changes nothing.
It only orchestrates: each app seeds its own data in its `demo.py`, lowest app first.
It lives in billing because billing is the top app and may import every other one.

Today it seeds the catalog (`catalog.demo.seed_catalog`), the people
(`subscriptions.demo.seed_people`: one staff login per role, a portal customer) and
customer accounts with subscriptions (`subscriptions.demo.seed_customers`), a corporate
customer on a corporate offer (`subscriptions.demo.seed_corporate_customer`) and its
users with access (`seats.demo.seed_corporate_seats`), and coupon campaigns with their
codes (`coupons.demo.seed_coupons`), and the first invoices from a billing run for
today (`billing.demo.seed_invoices`), their collection and a bank statement
(`billing.demo.seed_payments`).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing.demo import seed_invoices, seed_payments
from catalog import models as catalog
from catalog.demo import SeedError, SeedLog, seed_catalog
from coupons.demo import seed_coupons
from seats.demo import seed_corporate_seats
from security.demo import DEMO_SECRET, seed_demo_device
from subscriptions.demo import (
    CORPORATE_ADMIN,
    DEMO_PASSWORD,
    PEOPLE,
    seed_corporate_customer,
    seed_customers,
    seed_people,
)


class Command(BaseCommand):
    help = "Create or update the demo data (idempotent): staff per role, a customer, a catalog."

    def handle(self, *args, **options) -> None:
        try:
            with transaction.atomic():
                logs = {
                    "catalog": seed_catalog(),
                    "people": seed_people(),
                    # Administrators use two-factor login: a device with a public secret.
                    "two-factor": SeedLog(seed_demo_device(email=PEOPLE[0][0])),
                    "customers": seed_customers(),
                    "corporate": seed_corporate_customer(),
                    "seats": seed_corporate_seats(),
                    "coupons": seed_coupons(),
                    "invoices": seed_invoices(),
                    "payments": seed_payments(),
                }
        except SeedError as error:
            raise CommandError(str(error)) from error
        for part, log in logs.items():
            self.stdout.write(f"seed_demo {part}: {log.summary()}")
        self._summary()

    def _summary(self) -> None:
        counts = [
            (catalog.Product, "products"),
            (catalog.Discount, "discounts"),
            (catalog.Term, "terms"),
            (catalog.Bundle, "bundles"),
            (catalog.Plan, "plans"),
            (catalog.Offer, "offers"),
            (catalog.CorporateContract, "corporate contracts"),
            (catalog.CorporateOffer, "corporate offers"),
        ]
        catalog_line = ", ".join(f"{model.objects.count()} {label}" for model, label in counts)
        self.stdout.write(f"  Catalog:  {catalog_line}")
        emails = [row[0] for row in PEOPLE] + [CORPORATE_ADMIN[0]]
        users = get_user_model().objects.filter(email__in=emails)
        for user in users.prefetch_related("groups").order_by("-is_staff", "email"):
            roles = ", ".join(g.name for g in user.groups.all()) or "portal customer"
            if user.email == CORPORATE_ADMIN[0]:
                roles = "corporate admin (portal)"
            if user.is_superuser:
                roles += ", superuser"
            self.stdout.write(f"  Login:    {user.email:<26} {roles}")
        self.stdout.write(f"  Password: {DEMO_PASSWORD}")
        self.stdout.write(
            f"  Two-factor code for {PEOPLE[0][0]}: python manage.py otp_demo_code "
            f"(or add the secret {DEMO_SECRET} to an authenticator app)"
        )
