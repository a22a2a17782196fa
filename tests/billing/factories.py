"""Invoices for tests, made through the real services (`InvoiceDraft` + `invoice_create`
+ `invoice_issue`), so every invoice a test sees has the numbers, totals and snapshot
the billing code would give it:

    invoice = make_invoice()                              # issued, one 10.00 EUR line + 19 %
    invoice = make_invoice(issue=False)                   # a draft
    invoice = make_invoice(customer=c, lines=[line("Seats", "3", "2.50")])
    invoice = make_invoice(subscription=s, period_start=..., period_end=...)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from billing.models import Invoice, InvoiceLine
from billing.services.invoices import (
    InvoiceDraft,
    LineDraft,
    credit_note_issue,
    invoice_create,
    invoice_issue,
)
from billing.services.payments import invoice_mark_paid
from catalog.models import CorporateOffer
from seats.models import LogEntry
from seats.services.seats import user_subscription_start
from subscriptions.models import CouponRedemption, Customer, Subscription, User
from subscriptions.services.corporate import corporate_subscription_create
from tests.coupons.factories import make_campaign
from tests.factories import (
    CorporateContractFactory,
    CorporateOfferFactory,
    ProductFactory,
    ReportingTagFactory,
)
from tests.seats.factories import SeatAccountFactory, UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

ISSUED_AT = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def line(
    description: str = "Subscription",
    quantity: str = "1",
    unit_price: str = "10.00",
    *,
    kind: str = InvoiceLine.Kind.SUBSCRIPTION,
    tax_rate: str = "19.00",
    product_id: int | None = None,
    ledger_account: str = "",
) -> LineDraft:
    return LineDraft(
        kind=kind,
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        tax_rate=Decimal(tax_rate),
        product_id=product_id,
        ledger_account=ledger_account,
    )


def make_invoice(
    *,
    customer: Customer | None = None,
    lines: Sequence[LineDraft] | None = None,
    subscription: Subscription | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    currency: str = "EUR",
    issue: bool = True,
    now: datetime = ISSUED_AT,
) -> Invoice:
    draft = InvoiceDraft(
        customer=customer or CustomerFactory(),
        currency=currency,
        lines=list(lines) if lines is not None else [line()],
        subscription=subscription,
        period_start=period_start,
        period_end=period_end,
        billing=Invoice.Billing.IN_ARREARS if subscription else Invoice.Billing.ONE_OFF,
    )
    invoice = invoice_create(draft=draft)
    if issue:
        invoice = invoice_issue(invoice=invoice, now=now)
    return invoice


def make_redemption(*, code, customer, subscription) -> CouponRedemption:
    """A 20 % coupon redemption of 9.90 for three periods, redeemed on 20 Jan 2027 (the
    redemption row as the checkout writes it, for exports and reports)."""
    return CouponRedemption.objects.create(
        code=code,
        campaign=code.campaign,
        customer=customer,
        subscription=subscription,
        kind=CouponRedemption.Kind.COUPON,
        list_price=Decimal("9.90"),
        discount_amount=Decimal("1.98"),
        currency="EUR",
        periods=3,
        redeemed_at=datetime(2027, 1, 20, 12, 0, tzinfo=UTC),
    )


# --- staff and the finance export data set -------------------------------------------

STAFF_PASSWORD = "pw-staff-1"
EVIL_NAME = '=HYPERLINK("http://evil.example","click")'
EVIL_DESCRIPTIONS = ("+1 seat", "-discount", "@SUM(A1)", "\ttab", "\rreturn")


def staff_member(role: str, email: str):
    """A staff user in one role group (the groups come from the roles' data migration)."""
    user = get_user_model().objects.create_user(email=email, password=STAFF_PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


class FinanceData:
    """A small fixed data set touching all six exports:

    - `corporate`: a corporate invoice of "Uni Musterstadt" for January 2027 (a usage
      line of the tagged contract's product, 3 x 2.50, and a base fee line), open;
    - `evil`: an invoice of a customer named like a formula, one 1.00 line per
      formula-looking description, paid;
    - `credited` and `credit_note`: an invoice of 12.50 net and its credit note;
    - one subscription log entry and one coupon redemption.
    """

    def __init__(self) -> None:
        self.product = ProductFactory(code="digital", name="Digital edition")
        tags = [ReportingTagFactory(name="library"), ReportingTagFactory(name="campus")]
        contract = CorporateContractFactory(product=self.product, reporting_tags=tags)
        offer: CorporateOffer = CorporateOfferFactory(contracts=[contract])
        uni = CustomerFactory(company=True, name="Uni Musterstadt", email="billing@uni.example")
        admin = User.objects.create_user(
            email="admin@uni.example", password="pw-corp-1", customer=uni
        )
        uni.main_user = admin
        uni.save(update_fields=["main_user"])
        self.subscription = corporate_subscription_create(
            customer=uni, corporate_offer=offer, now=datetime(2027, 1, 1, tzinfo=UTC)
        )
        self.corporate = make_invoice(
            customer=uni,
            subscription=self.subscription,
            period_start=datetime(2027, 1, 1, tzinfo=UTC),
            period_end=datetime(2027, 2, 1, tzinfo=UTC),
            lines=[
                line(
                    "Users (active at any time)",
                    "3",
                    "2.50",
                    kind=InvoiceLine.Kind.USAGE,
                    product_id=self.product.pk,
                    ledger_account="8400",
                ),
                line("Base fee", "1", "20.00", kind=InvoiceLine.Kind.BASE_FEE),
            ],
            now=datetime(2027, 2, 1, 9, 0, tzinfo=UTC),
        )
        evil = CustomerFactory(name=EVIL_NAME, email="evil@example.com")
        self.evil = make_invoice(
            customer=evil,
            lines=[line(text, "1", "1.00") for text in EVIL_DESCRIPTIONS],
            now=datetime(2027, 2, 2, 9, 0, tzinfo=UTC),
        )
        self.evil = invoice_mark_paid(
            invoice=self.evil, now=datetime(2027, 2, 3, 10, 0, tzinfo=UTC)
        )
        self.credited = make_invoice(
            customer=CustomerFactory(name="Max Mustermann", email="max@example.com"),
            lines=[line("Annual plan", "1", "12.50")],
            now=datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        )
        self.credit_note = credit_note_issue(
            invoice=self.credited,
            reason="Cancelled in the trial",
            now=datetime(2027, 3, 2, 9, 0, tzinfo=UTC),
        )
        self.credited.refresh_from_db()

        account = SeatAccountFactory(maximum_users=5, subscription__products=1)
        self.seat_user = UserFactory(email="reader@uni.example")
        user_subscription_start(
            account=account,
            user=self.seat_user,
            via="staff",
            now=datetime(2027, 1, 10, 8, 0, tzinfo=UTC),
        )
        campaign = make_campaign()
        code = campaign.codes.order_by("id").first()
        self.redemption = make_redemption(
            code=code, customer=evil, subscription=SubscriptionFactory(customer=evil)
        )

    def seat_user_log_entry(self):
        return LogEntry.objects.select_related(
            "seat_account__subscription__customer", "product"
        ).get(user=self.seat_user)
