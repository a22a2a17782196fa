"""The data the object-level access matrix (test_access_matrix.py) asks about: one
owning customer ("Canary Owner GmbH") with everything the portal and the API name by id,
the people who must not see it, and one row of every model the admin shows.

Every text that belongs to the owner carries the word CANARY, so a response that shows
any of it is caught by a plain substring test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from auditlog.models import LogEntry as AuditEntry
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_q.models import Failure, OrmQ, Schedule, Success, Task

from api.models import Scope
from api.services import api_key_create
from billing.export_tasks import JobStatus, _job_update, _key, export_job_get
from billing.models import (
    BankStatement,
    BankStatementLine,
    BillingHold,
    BillingRun,
    Dunning,
    DunningPolicy,
    Invoice,
    Payment,
    PaymentAttempt,
)
from billing.services.payments import invoice_mark_paid
from coupons.models import Campaign, Code
from notifications.events import MailType
from notifications.models import (
    CallbackDelivery,
    CallbackEndpoint,
    Event,
    MailMessage,
    MailTemplate,
)
from seats.models import Invitation, LogEntry, SeatAccount, UserSubscription
from seats.services.activation import domain_add, ip_range_add
from seats.services.invitations import invitation_create
from seats.services.seats import user_subscription_start
from subscriptions.models import (
    CouponRedemption,
    Customer,
    PaymentMethod,
    Subscription,
    User,
)
from tests.billing.factories import line, make_invoice
from tests.billing.runs_factories import access, berlin, corporate_subscription
from tests.coupons.factories import make_campaign
from tests.factories import (
    BundleFactory,
    BundleItemFactory,
    ContractFolderFactory,
    CorporateContractFactory,
    DiscountFactory,
    OfferFactory,
    PlanFactory,
    ProductFactory,
    ReportingTagFactory,
    TermFactory,
)
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory
from tests.subscriptions.factories import CustomerFactory

CANARY = "CANARY"
PASSWORD = "pw-user-1"


@dataclass
class World:
    """What the registry's builders pick their objects from."""

    owner: Customer
    subscription: Subscription
    account: SeatAccount
    seat: UserSubscription
    invitation: Invitation
    domain: str
    ip_range: str
    invoice: Invoice
    payment_method: PaymentMethod
    corporate: Subscription
    campaign: Campaign
    code: Code
    endpoint: CallbackEndpoint
    owner_staff: User
    export_job_id: str
    # Personas.
    other_customer_user: User
    seat_holder: User  # holds a seat on the owner's subscription, is not its admin
    seat_holder_elsewhere: User  # holds a seat on the other customer's subscription
    superuser: User
    full_key: str
    admin_rows: dict[str, object] = field(default_factory=dict)
    staff_without: dict[str, User] = field(default_factory=dict)
    keys_without: dict[str, str] = field(default_factory=dict)


def build_world() -> World:
    owner, owner_user = _owner()
    account = SeatAccountFactory(
        maximum_users=5,
        subscription__customer=owner,
        subscription__main_user=owner_user,
        subscription__products=1,
    )
    subscription = account.subscription
    payment_method = PaymentMethod.objects.create(
        customer=owner, kind="card", gateway="sandbox", token="tok-canary",
        label=f"Visa {CANARY} 4242",
    )  # fmt: skip
    subscription.payment_method = payment_method
    subscription.save(update_fields=["payment_method"])
    seat_holder = UserFactory(email="canary-seat@example.com", first_name=f"Seat{CANARY}")
    [seat] = user_subscription_start(account=account, user=seat_holder, via="staff", now=NOW)
    invitation, _code = invitation_create(
        account=account, email="canary-invitee@example.com", first_name=f"Invitee{CANARY}", now=NOW
    )
    domain = domain_add(account=account, domain="canary-owner.example", actor=None).domain
    ip_range = ip_range_add(account=account, cidr="198.51.100.0/24", actor=None).cidr
    corporate = _corporate(owner)
    invoice = make_invoice(
        customer=owner, subscription=subscription, lines=[line(f"Paper {CANARY}", "1", "9.90")],
        period_start=berlin(2027, 1, 1), period_end=berlin(2027, 2, 1),
    )  # fmt: skip
    campaign, code = _campaign(subscription)
    endpoint = CallbackEndpoint.objects.create(
        name=f"Shop {CANARY}", url="http://127.0.0.1:9/hook", event_types=["ping"],
        secret="whsec_canary",
    )  # fmt: skip
    owner_staff = User.objects.create_user(
        email="canary-staff@kontor.example", password=PASSWORD, is_staff=True, is_superuser=True
    )
    other = CustomerFactory(name="Other Customer", email="other@example.com")
    other_user = UserFactory(email="other-main@example.com", customer=other)
    other.main_user = other_user
    other.save(update_fields=["main_user"])
    other_account = SeatAccountFactory(
        subscription__customer=other, subscription__main_user=other_user, subscription__products=1
    )
    elsewhere = UserFactory(email="other-seat@example.com")
    user_subscription_start(account=other_account, user=elsewhere, via="staff", now=NOW)
    world = World(
        owner=owner, subscription=subscription, account=account, seat=seat,
        invitation=invitation, domain=domain, ip_range=ip_range, invoice=invoice,
        payment_method=payment_method, corporate=corporate, campaign=campaign, code=code,
        endpoint=endpoint, owner_staff=owner_staff, export_job_id=_export_job(owner_staff),
        other_customer_user=other_user, seat_holder=seat_holder, seat_holder_elsewhere=elsewhere,
        superuser=User.objects.create_user(
            email="super@kontor.example", password=PASSWORD, is_staff=True, is_superuser=True
        ),
        full_key=api_key_create(name="Full", scopes=["read", "customers", "subscriptions",
                                                     "seats", "coupons", "billing"])[1],
    )  # fmt: skip
    world.admin_rows = _admin_rows(world)
    return world


def _owner() -> tuple[Customer, User]:
    owner = CustomerFactory(
        company=True, name=f"{CANARY} Owner GmbH", email="canary-owner@example.com"
    )
    owner_user = UserFactory(
        email="canary-main@example.com", first_name=f"Main{CANARY}", customer=owner
    )
    owner.main_user = owner_user
    owner.save(update_fields=["main_user"])
    return owner, owner_user


def _corporate(owner: Customer) -> Subscription:
    contract = CorporateContractFactory(name=f"Contract {CANARY}", base_fee_amount=Decimal("10.00"))
    corporate, corporate_account = corporate_subscription(
        contracts=[contract], started_at=berlin(2027, 1, 1), customer=owner
    )
    access(corporate_account, UserFactory(), contract.product, berlin(2027, 1, 5))
    return corporate


def _campaign(subscription: Subscription) -> tuple[Campaign, Code]:
    bundle = BundleFactory()
    BundleItemFactory(bundle=bundle, product=subscription.offer.product)
    campaign = make_campaign(
        code="canary", name=f"Campaign {CANARY}", template="CANARY-########", bundle=bundle
    )
    return campaign, campaign.codes.order_by("id").first()


def _export_job(owner_staff: User) -> str:
    """A finished finance export of another staff member (the cache holds the job)."""
    path = default_storage.save("exports/canary-test.csv", ContentFile(f"{CANARY}\n".encode()))
    job_id = "c0ffee00c0ffee00c0ffee00c0ffee00"
    _job_update(
        job_id, user_id=owner_staff.pk, status=JobStatus.READY, resource="InvoiceResource",
        filename=f"invoices-{CANARY}.csv", rows=1, total=1, path=path, error="",
    )  # fmt: skip
    return job_id


def export_job_remove(job_id: str) -> None:
    """The world's export file and job go with the world."""
    job = export_job_get(job_id)
    if job:
        default_storage.delete(job["path"])
    cache.delete(_key(job_id))


def _admin_rows(world: World) -> dict[str, object]:
    """One row of each model the admin site registers (keyed by app_label.model_name),
    the owner's where the model belongs to a customer."""
    owner, invoice = world.owner, world.invoice
    paid = make_invoice(customer=owner, lines=[line(f"Extra {CANARY}", "1", "5.00")])
    paid = invoice_mark_paid(invoice=paid, now=datetime(2027, 2, 3, tzinfo=UTC))
    event = Event.objects.create(type="ping", payload={"note": CANARY})
    statement = BankStatement.objects.create(
        filename=f"statement-{CANARY}.csv", imported_at=NOW, imported_by=world.owner_staff
    )
    return {
        "auth.group": Group.objects.create(name=f"Group {CANARY}"),
        "auditlog.logentry": AuditEntry.objects.get_for_object(owner).order_by("pk").first(),
        # Another staff member's phone (a device on owner_staff would make that user
        # log in with a code).
        "otp_totp.totpdevice": TOTPDevice.objects.create(
            user=UserFactory(email="canary-phone@kontor.example", is_staff=True),
            name=f"Phone {CANARY}",
            confirmed=True,
        ),
        "django_q.schedule": Schedule.objects.create(
            name=f"schedule-{CANARY}", func="math.floor", schedule_type=Schedule.HOURLY
        ),
        "django_q.success": _task(success=True),
        "django_q.failure": _task(success=False),
        "django_q.ormq": OrmQ.objects.create(key=f"q-{CANARY}", payload="x"),
        "notifications.callbackendpoint": world.endpoint,
        "notifications.callbackdelivery": CallbackDelivery.objects.create(
            endpoint=world.endpoint, event=event
        ),
        "notifications.event": event,
        "notifications.mailtemplate": _mail_template(),
        "notifications.mailmessage": MailMessage.objects.create(
            event=event,
            template_type=MailType.INVOICE_ISSUED,
            language="en",
            to_email="canary-owner@example.com",
            subject=f"Invoice {CANARY}",
        ),
        "api.apikey": api_key_create(name=f"Key {CANARY}", scopes=["read"])[0],
        "catalog.contractfolder": ContractFolderFactory(name=f"Folder {CANARY}"),
        "catalog.reportingtag": ReportingTagFactory(name=f"tag-{CANARY}"),
        "catalog.corporatecontract": world.corporate.corporate_offer.contracts.first(),
        "catalog.corporateoffer": world.corporate.corporate_offer,
        "catalog.offer": OfferFactory(name=f"Offer {CANARY}"),
        "catalog.product": ProductFactory(name=f"Product {CANARY}"),
        "catalog.discount": DiscountFactory(name=f"Discount {CANARY}"),
        "catalog.term": TermFactory(name=f"Term {CANARY}"),
        "catalog.bundle": BundleFactory(name=f"Bundle {CANARY}"),
        "catalog.plan": PlanFactory(name=f"Plan {CANARY}"),
        "coupons.campaign": world.campaign,
        "coupons.code": world.code,
        "subscriptions.couponredemption": _redemption(world),
        "subscriptions.customer": owner,
        "subscriptions.paymentmethod": world.payment_method,
        "subscriptions.subscription": world.subscription,
        "subscriptions.user": owner.main_user,
        "seats.seataccount": world.account,
        "seats.usersubscription": world.seat,
        "seats.invitation": world.invitation,
        "seats.logentry": LogEntry.objects.filter(user_subscription=world.seat).first(),
        "billing.invoice": invoice,
        "billing.invoiceline": invoice.lines.first(),
        "billing.bankstatement": statement,
        "billing.bankstatementline": BankStatementLine.objects.create(
            statement=statement,
            row=1,
            booked_on=date(2027, 2, 3),
            amount=Decimal("5.95"),
            fingerprint="c" * 64,
            status=BankStatementLine.Status.REVIEW,
            reference=f"Ref {CANARY}",
        ),
        "billing.billinghold": BillingHold.objects.create(
            customer=owner,
            invariant="invoice_totals",
            subject=f"invoice:{invoice.pk}",
            detail=f"Totals {CANARY}",
            found_at=NOW,
        ),
        "billing.payment": Payment.objects.filter(invoice=paid).first(),
        "billing.paymentattempt": _attempt(world),
        "billing.dunning": Dunning.objects.create(
            invoice=invoice,
            customer=owner,
            subscription=world.subscription,
            schedule=Dunning.Schedule.POLICY,
            final_action="cancel",
            failed_at=NOW,
        ),
        "billing.dunningpolicy": DunningPolicy.objects.get_or_create(
            pk=1, defaults={"retry_days": "1", "final_action": "cancel"}
        )[0],
        "billing.billingrun": BillingRun.objects.create(
            run_date=date(2027, 1, 2), started_at=NOW, chunks_total=1
        ),
    }


def _attempt(world: World) -> PaymentAttempt:
    """Issuing the invoice charged the card on file: its first attempt."""
    invoice = world.invoice
    return PaymentAttempt.objects.filter(invoice=invoice).first() or PaymentAttempt.objects.create(
        invoice=invoice, customer=world.owner, payment_method=world.payment_method, number=1,
        trigger=PaymentAttempt.Trigger.ISSUE, idempotency_key=f"attempt-{CANARY}",
        currency="EUR", amount=invoice.gross_amount, scheduled_for=NOW,
    )  # fmt: skip


def _task(*, success: bool) -> Task:
    """A finished task, as the admin's Success or Failure proxy shows it."""
    name = f"task-{CANARY}-{'ok' if success else 'failed'}"
    proxy = Success if success else Failure
    task = Task.objects.create(
        id=("a" if success else "b") * 32, name=name, func="math.floor", started=NOW,
        stopped=NOW, success=success, result=f"result {CANARY}",
    )  # fmt: skip
    return proxy.objects.get(pk=task.pk)


def _mail_template() -> MailTemplate:
    template = MailTemplate.objects.order_by("pk").first()
    if template is None:  # a transactional test elsewhere emptied the table
        from tests.seats.factories import activate_mail_templates

        activate_mail_templates()
        template = MailTemplate.objects.order_by("pk").first()
    return template


def _redemption(world: World) -> CouponRedemption:
    return CouponRedemption.objects.create(
        code=world.code, campaign=world.campaign, customer=world.owner,
        subscription=world.subscription, kind=CouponRedemption.Kind.COUPON,
        list_price=Decimal("9.90"), discount_amount=Decimal("1.98"), currency="EUR",
        periods=3, redeemed_at=NOW,
    )  # fmt: skip


def staff_without(model_label: str) -> User:
    """A staff member who holds every permission except the four of `model_label`."""
    app_label, model_name = model_label.split(".")
    user = User.objects.create_user(
        email=f"staff-no-{app_label}-{model_name}@kontor.example", password=PASSWORD, is_staff=True
    )
    group = Group.objects.create(name=f"All but {model_label}")
    group.permissions.set(
        Permission.objects.exclude(
            content_type__app_label=app_label, content_type__model=model_name
        )
    )
    user.groups.add(group)
    return user


def key_without(scope: str) -> str:
    """An API key holding every scope but `scope`."""
    others = [value for value in Scope.values if value != scope]
    return api_key_create(name=f"All but {scope}", scopes=others)[1]
