"""`python manage.py seed_demo`: the demo data (ARCHITECTURE.md, "Interfaces").

Idempotent: run it any number of times; the second run creates and changes nothing.
It only orchestrates: each app seeds its own data in its `demo.py`, lowest app first.
It lives in billing because billing is the top app and may import every other one.

Today it seeds the catalog (`catalog.demo.seed_catalog`), the people
(`subscriptions.demo.seed_people`: one staff login per role, a portal customer) and
customer accounts with subscriptions (`subscriptions.demo.seed_customers`). Later issues
add their seed functions here: multi-user and corporate subscriptions with seats and
invitations, invoices, coupons.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog import models as catalog
from catalog.demo import SeedError, seed_catalog
from subscriptions.demo import DEMO_PASSWORD, PEOPLE, seed_customers, seed_people


class Command(BaseCommand):
    help = "Create or update the demo data (idempotent): staff per role, a customer, a catalog."

    def handle(self, *args, **options) -> None:
        try:
            with transaction.atomic():
                logs = {
                    "catalog": seed_catalog(),
                    "people": seed_people(),
                    "customers": seed_customers(),
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
        users = get_user_model().objects.filter(email__in=[row[0] for row in PEOPLE])
        for user in users.prefetch_related("groups").order_by("-is_staff", "email"):
            roles = ", ".join(g.name for g in user.groups.all()) or "portal customer"
            if user.is_superuser:
                roles += ", superuser"
            self.stdout.write(f"  Login:    {user.email:<26} {roles}")
        self.stdout.write(f"  Password: {DEMO_PASSWORD}")
