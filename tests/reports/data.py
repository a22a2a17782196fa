"""The small fixed data set the report figures are checked against by hand.

Times are on the merchant's clock (Berlin); "now" is 10 April 2027, noon; the period
is January to April 2027, EUR.

Regular subscriptions (MRR = monthly value at the end of each month):
- A  single, monthly 10.00, from 10 Dec 2026, running
- B  single, yearly 120.00, from 15 Jan 2027, coupon "Spring": 24.00 off the first year
     -> (120 - 24) / 12 = 8.00 a month
- C  multi-user (4), monthly 30.00, from 5 Jan 2027, ended 5 Mar 2027 (churned in March)
- D  single, monthly 9.90, from 1 Feb 2027, coupon "Welcome": 9.90 off two periods
     -> 0 in February and March, 9.90 from April
- E  single, weekly 7.00, from 1 Mar 2027 -> 7 x 52 / 12 = 30.33 a month
- F  a one-time purchase (not recurring, never counted)
- G  single, monthly 50.00 USD from 1 Jan 2027, coupon "Spring" 5.00 USD (not in EUR MRR)
- I  single, monthly 1.00 USD from 1 Dec 2026 (its coupon was redeemed before the period)
- H  single, monthly 5.00, from 1 Nov 2026, ended 1 Feb 2027 00:00 (runs to January's
     end, churned in February)

Corporate subscription K ("Uni Musterstadt", 2.50 per user + 20.00 base fee a month,
at most 5 users, tag "campus"), post-billed monthly from 1 Jan 2027:
- January invoice, issued 1 Feb: 3 users -> net 27.50, gross 32.73; paid 5 Mar
- February invoice, issued 1 Mar: 4 users -> net 30.00, gross 35.70; CREDITED 10 Mar
- March invoice, issued 1 Apr: 2 users -> net 25.00, gross 29.75; open, due 15 Apr
So K's MRR is 0 in January, 27.50 in February, still 27.50 in March (February's invoice
was credited, so January's stays the last invoiced period) and 25.00 in April.

One-off invoices: X 100.00 net (119.00 gross) issued 20 Jan, paid 3 Feb; Y 50.00 net
(59.50 gross) issued 5 Jan, due 19 Jan, 9.50 paid -> 50.00 overdue 81 days.

K's seats (maximum 5): u1 from 2 Jan; u2 from 2 Jan, ended 10 Feb and reactivated 20 Feb
(the cancelled-then-reactivated user: one user, two user subscriptions); u3 from 5 Feb
to 20 Mar; one pending invitation. A second corporate account L (unlimited) has one
user.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from billing.models import InvoiceLine
from billing.services.invoices import credit_note_issue
from billing.services.payments import invoice_mark_paid
from catalog.models import PeriodUnit
from reports.selectors.filters import Filters
from seats.models import Invitation, UserSubscription
from seats.services.seats import (
    seat_account_for_subscription,
    user_subscription_cancel,
    user_subscription_reactivate,
    user_subscription_start,
)
from subscriptions.models import CouponRedemption, Subscription, SubscriptionItem, User
from subscriptions.services.corporate import corporate_subscription_create
from tests.billing.factories import line, make_invoice
from tests.coupons.factories import make_campaign
from tests.factories import (
    CorporateContractFactory,
    CorporateOfferFactory,
    OfferFactory,
    ReportingTagFactory,
)
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 4, 10, 12, 0, tzinfo=BERLIN)


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


def filters(**overrides) -> Filters:
    values = {
        "first_month": date(2027, 1, 1),
        "last_month": date(2027, 4, 1),
        "currency": "EUR",
        "now": NOW,
    }
    return Filters(**{**values, **overrides})


def regular(price: str, *, start: datetime, unit=PeriodUnit.MONTH, currency="EUR", **kw):
    offer = OfferFactory(
        price_amount=Decimal(price),
        billing_interval_unit=unit,
        currency=currency,
        **kw.pop("offer", {}),
    )
    subscription = SubscriptionFactory(offer=offer, started_at=start, **kw)
    SubscriptionItem.objects.create(
        subscription=subscription, product=offer.product, source=SubscriptionItem.Source.INCLUDED
    )
    return subscription


def redeem(subscription, campaign, discount: str, *, periods, when, currency="EUR"):
    code = campaign.codes.order_by("id").first()
    return CouponRedemption.objects.create(
        code=code,
        campaign=campaign,
        customer=subscription.customer,
        subscription=subscription,
        kind=CouponRedemption.Kind.COUPON,
        list_price=subscription.price_amount,
        discount_amount=Decimal(discount),
        currency=currency,
        periods=periods,
        redeemed_at=when,
    )


def corporate(name: str, *, maximum_users, tags=()):
    contract = CorporateContractFactory(
        base_fee_amount=Decimal("20.00"), maximum_users=maximum_users, reporting_tags=list(tags)
    )
    offer = CorporateOfferFactory(contracts=[contract])
    customer = CustomerFactory(company=True, name=name)
    admin = User.objects.create_user(
        email=f"admin@{name.split()[-1].lower()}.example", password="pw-corp-1", customer=customer
    )
    customer.main_user = admin
    customer.save(update_fields=["main_user"])
    subscription = corporate_subscription_create(
        customer=customer, corporate_offer=offer, now=at(2027, 1, 1)
    )
    return subscription, contract


def usage_invoice(subscription, contract, users: int, *, month: int):
    start, end = at(2027, month, 1), at(2027, month + 1, 1)
    return make_invoice(
        customer=subscription.customer,
        subscription=subscription,
        period_start=start,
        period_end=end,
        lines=[
            line(
                "Users",
                str(users),
                "2.50",
                kind=InvoiceLine.Kind.USAGE,
                product_id=contract.product_id,
            ),
            line("Base fee", "1", "20.00", kind=InvoiceLine.Kind.BASE_FEE),
        ],
        now=end + timedelta(hours=9),
    )


class ReportData:
    def __init__(self) -> None:
        spring, welcome = make_campaign(name="Spring"), make_campaign(name="Welcome")
        self.a = regular("10.00", start=at(2026, 12, 10))
        self.b = regular("120.00", start=at(2027, 1, 15), unit=PeriodUnit.YEAR)
        redeem(self.b, spring, "24.00", periods=1, when=at(2027, 1, 15))
        self.c = regular(
            "30.00",
            start=at(2027, 1, 5),
            offer={"multi_user": True},
            status=Subscription.Status.ENDED,
            ended_at=at(2027, 3, 5),
        )
        self.d = regular("9.90", start=at(2027, 2, 1))
        redeem(self.d, welcome, "9.90", periods=2, when=at(2027, 2, 1))
        self.e = regular("7.00", start=at(2027, 3, 1), unit=PeriodUnit.WEEK)
        self.f = SubscriptionFactory(
            offer=OfferFactory(single_product=True, price_amount=Decimal("99.00")),
            started_at=at(2027, 2, 2),
        )
        self.g = regular("50.00", start=at(2027, 1, 1), currency="USD")
        redeem(self.g, spring, "5.00", periods=None, when=at(2027, 1, 1), currency="USD")
        # Redeemed before the period: not in the coupon figure.
        redeem(
            regular("1.00", start=at(2026, 12, 1), currency="USD"),
            welcome,
            "0.00",
            periods=None,
            when=at(2026, 12, 1),
            currency="USD",
        )
        self.h = regular(
            "5.00",
            start=at(2026, 11, 1),
            status=Subscription.Status.ENDED,
            ended_at=at(2027, 2, 1),
        )
        self.tag = ReportingTagFactory(name="campus")
        self.k, self.contract = corporate("Uni Musterstadt", maximum_users=5, tags=[self.tag])
        self._invoices()
        self._seats()

    def _invoices(self) -> None:
        k, contract = self.k, self.contract
        self.january = usage_invoice(k, contract, 3, month=1)
        invoice_mark_paid(invoice=self.january, now=at(2027, 3, 5, 10))
        self.february = usage_invoice(k, contract, 4, month=2)
        self.credit_note = credit_note_issue(
            invoice=self.february, reason="Wrong user count", now=at(2027, 3, 10, 10)
        )
        self.march = usage_invoice(k, contract, 2, month=3)
        self.x = make_invoice(lines=[line("Licence", "1", "100.00")], now=at(2027, 1, 20, 10))
        invoice_mark_paid(invoice=self.x, now=at(2027, 2, 3, 10))
        self.y = make_invoice(lines=[line("Licence", "1", "50.00")], now=at(2027, 1, 5, 10))
        invoice_mark_paid(invoice=self.y, amount=Decimal("9.50"), now=at(2027, 1, 6, 10))

    def _seats(self) -> None:
        account = seat_account_for_subscription(subscription=self.k)
        self.account = account
        u1, u2, u3 = (UserFactory(email=f"u{n}@uni.example") for n in (1, 2, 3))
        user_subscription_start(account=account, user=u1, via="staff", now=at(2027, 1, 2))
        [first] = user_subscription_start(account=account, user=u2, via="staff", now=at(2027, 1, 2))
        user_subscription_cancel(user_subscription=first, mode="now", now=at(2027, 2, 10))
        user_subscription_reactivate(user_subscription=first, now=at(2027, 2, 20))
        [third] = user_subscription_start(account=account, user=u3, via="staff", now=at(2027, 2, 5))
        user_subscription_cancel(user_subscription=third, mode="now", now=at(2027, 3, 20))
        Invitation.objects.create(
            seat_account=account,
            email="u4@uni.example",
            code_hash=hashlib.sha256(b"reports-invitation").hexdigest(),
            expires_at=NOW + timedelta(days=7),
            created_at=NOW,
        )
        self.l_subscription, _contract = corporate("Company Beispiel", maximum_users=None)
        other = seat_account_for_subscription(subscription=self.l_subscription)
        user_subscription_start(account=other, user=UserFactory(), via="staff", now=at(2027, 1, 3))
        assert UserSubscription.objects.filter(seat_account=account).count() == 4

    def more_users(self) -> None:
        """One more user on K since January (for query counts at another size)."""
        user_subscription_start(account=self.account, user=UserFactory(), via="staff",
                                now=at(2027, 1, 4))  # fmt: skip
