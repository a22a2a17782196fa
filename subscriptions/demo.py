"""Demo people (used by `manage.py seed_demo`): one staff login per role and a customer.

The logins match what scripts/demo.sh prints; every password is DEMO_PASSWORD. The role
groups come from the migration subscriptions/0002_staff_roles (see roles.py); this module
only puts people into them. Idempotent like catalog.demo: found by e-mail, written only
where something differs (a changed password is reset to the demo password).
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from catalog.demo import SeedError, SeedLog, upsert
from catalog.models import Bundle, CorporateOffer, Offer, Product

from .models import Customer, User
from .roles import ADMINISTRATOR, CATALOG_MANAGER, CUSTOMER_SUPPORT, FINANCE
from .services.corporate import corporate_subscription_create
from .services.customers import customer_create_for_user
from .services.payments import payment_method_add
from .services.purchase import INVOICE, subscription_purchase

DEMO_PASSWORD = "kontor-demo"  # noqa: S105 -- printed by scripts/demo.sh, demo only

# e-mail, first name, last name, role group (None: a portal customer), superuser
PEOPLE = [
    ("admin@kontor.example", "Ada", "Admin", ADMINISTRATOR, True),
    ("catalog@kontor.example", "Carl", "Catalog", CATALOG_MANAGER, False),
    ("support@kontor.example", "Sam", "Support", CUSTOMER_SUPPORT, False),
    ("finance@kontor.example", "Fiona", "Finance", FINANCE, False),
    ("reader@kontor.example", "Rita", "Reader", None, False),
]


# The corporate admin (main user) of the demo corporate customer: a portal login.
CORPORATE_ADMIN = ("corporate@kontor.example", "Conrad", "Corporate")
CORPORATE_CUSTOMER = "Universität Musterstadt"


def seed_people() -> SeedLog:
    """Staff users in their role groups (is_staff), and the portal customer."""
    log = SeedLog()
    with transaction.atomic():
        groups = _role_groups()
        for email, first_name, last_name, role, superuser in PEOPLE:
            user = upsert(
                User,
                log=log,
                lookup={"email": email},
                # Unusable until set below: hashing only where needed keeps reruns fast.
                create_defaults={"password": make_password(None)},
                first_name=first_name,
                last_name=last_name,
                is_staff=role is not None,
                is_superuser=superuser,
                is_active=True,
            )
            if not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.set([groups[role]] if role else [])
    return log


def _role_groups() -> dict[str, Group]:
    names = [ADMINISTRATOR, CATALOG_MANAGER, CUSTOMER_SUPPORT, FINANCE]
    groups = {group.name: group for group in Group.objects.filter(name__in=names)}
    missing = [name for name in names if name not in groups]
    if missing:
        raise SeedError(
            f"Missing staff role groups: {', '.join(missing)}. They are created by the "
            "migration subscriptions/0002_staff_roles: run `python manage.py migrate`."
        )
    return groups


def seed_customers() -> SeedLog:
    """Customer accounts with subscriptions, bought through the purchase service: Rita's
    person account (the portal login) with a digital subscription paid by a sandbox card,
    and a company on the yearly e-paper paid by invoice. Only what is missing is made."""
    log = SeedLog()
    with transaction.atomic():
        rita = User.objects.get(email="reader@kontor.example")
        customer = customer_create_for_user(user=rita)
        if not customer.subscriptions.exists():
            card = payment_method_add(
                customer=customer,
                kind="card",
                details={
                    "number": "4242424242424242",
                    "exp_month": "12",
                    "exp_year": "2035",
                    "cvc": "123",
                },
            )
            subscription_purchase(
                customer=customer,
                offer=Offer.objects.get(code="tb-digital-monthly"),
                optional_products=[Product.objects.get(code="tb-podcasts")],
                addon_bundles=[Bundle.objects.get(code="tb-archive-addon")],
                payment_method=card,
                actor=rita,
            )
            log["created"] += 1
        else:
            log["unchanged"] += 1
        company, created = Customer.objects.get_or_create(
            name="Stadtwerke Musterstadt GmbH",
            defaults={
                "kind": Customer.Kind.COMPANY,
                "email": "buchhaltung@stadtwerke.example",
                "vat_id": "DE123456789",
                "address_line1": "Hafenstraße 1",
                "postal_code": "20457",
                "city": "Hamburg",
                "country": "DE",
                "language": "de",
            },
        )
        if created:
            subscription_purchase(
                customer=company,
                offer=Offer.objects.get(code="tb-epaper-yearly"),
                payment_method=INVOICE,
            )
        log["created" if created else "unchanged"] += 1
        _declining_card_customer(log)
    return log


def _declining_card_customer(log: SeedLog) -> None:
    """A reader whose card the sandbox declines, so the demo shows dunning."""
    customer, created = Customer.objects.get_or_create(
        name="Lena Hofmann",
        defaults={"email": "lena.hofmann@example.com", "country": "DE", "language": "de"},
    )
    if created:
        card = payment_method_add(
            customer=customer,
            kind="card",
            details={
                "number": "4000000000000002",
                "exp_month": "12",
                "exp_year": "2035",
                "cvc": "123",
            },
        )
        subscription_purchase(
            customer=customer,
            offer=Offer.objects.get(code="tb-digital-monthly"),
            payment_method=card,
        )
    log["created" if created else "unchanged"] += 1


def demo_user(log: SeedLog, email: str, first_name: str, last_name: str, **values) -> User:
    """A portal login with the demo password (reset if someone changed it)."""
    user = upsert(
        User,
        log=log,
        lookup={"email": email},
        create_defaults={"password": make_password(None)},
        first_name=first_name,
        last_name=last_name,
        is_active=True,
        **values,
    )
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def seed_corporate_customer() -> SeedLog:
    """A university on the corporate campus licence (digital edition and e-paper in a
    bundle), created through the corporate service as staff would, paid by invoice; its
    corporate admin logs in as corporate@kontor.example. The seats (users with access)
    are seeded by seats.demo.seed_corporate_seats. Only what is missing is made."""
    log = SeedLog()
    with transaction.atomic():
        email, first_name, last_name = CORPORATE_ADMIN
        admin = demo_user(log, email, first_name, last_name)
        customer, created = Customer.objects.get_or_create(
            name=CORPORATE_CUSTOMER,
            defaults={
                "kind": Customer.Kind.COMPANY,
                "email": "lizenzen@uni-musterstadt.example",
                "vat_id": "DE987654321",
                "address_line1": "Universitätsplatz 1",
                "postal_code": "20146",
                "city": "Hamburg",
                "country": "DE",
                "language": "de",
                "main_user": admin,
            },
        )
        log["created" if created else "unchanged"] += 1
        if admin.customer_id is None:
            admin.customer = customer
            admin.save(update_fields=["customer"])
        if not customer.subscriptions.filter(corporate_offer__isnull=False).exists():
            corporate_subscription_create(
                customer=customer,
                corporate_offer=CorporateOffer.objects.get(code="tb-campus"),
                payment_method=INVOICE,
            )
            log["created"] += 1
    return log
