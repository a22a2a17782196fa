"""The built-in sandbox gateway: behaves like a real one in test mode, moves no money.

Test data (like Stripe's test mode; any future expiry, any 3- or 4-digit CVC):

| card / IBAN | what charges do |
| --- | --- |
| 4242 4242 4242 4242 | succeed |
| 4000 0000 0000 0002 | are declined: `card_declined` |
| 4000 0000 0000 9995 | are declined: `insufficient_funds` |
| 4000 0000 0000 0119 | fail temporarily: `processing_error` |
| DE89 3704 0044 0532 0130 00 | succeed |
| DE62 3704 0044 0532 0130 01 | are declined: `debit_declined` |

Adding any of them succeeds (they are valid methods; they fail when charged, which is
what billing and dunning need to test). Numbers that fail the Luhn check, past expiry
dates, IBANs with a wrong mod-97 checksum and any other (possibly real) number are
refused when added, with a clear message.

No state is kept: the outcome class is part of the token
(`sandbox_pm_<outcome>_<random hex>`), and a charge's reference is derived from the
token and the idempotency key, so the same key gives the same result in every process.
The cache remembers each key's parameters (to refuse a key reused for another charge)
and makes the "charged" log line appear once per key.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import PaymentMethod as PaymentKind
from subscriptions.exceptions import PaymentRefused

from .base import ChargeResult, GatewayMethod

logger = logging.getLogger(__name__)

SUCCEEDS = "succeeds"
# outcome in the token -> (charge status, error code)
OUTCOMES: dict[str, tuple[str, str]] = {
    SUCCEEDS: (ChargeResult.SUCCEEDED, ""),
    "card_declined": (ChargeResult.DECLINED, "card_declined"),
    "insufficient_funds": (ChargeResult.DECLINED, "insufficient_funds"),
    "processing_error": (ChargeResult.FAILED_TEMPORARILY, "processing_error"),
    "debit_declined": (ChargeResult.DECLINED, "debit_declined"),
}
# number -> (outcome, what it does, for the development hint on the add page)
TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": (SUCCEEDS, gettext_lazy("succeeds")),
    "4000000000000002": ("card_declined", gettext_lazy("declined (card declined)")),
    "4000000000009995": ("insufficient_funds", gettext_lazy("declined (insufficient funds)")),
    "4000000000000119": ("processing_error", gettext_lazy("fails temporarily")),
}
TEST_IBANS: dict[str, tuple[str, str]] = {
    "DE89370400440532013000": (SUCCEEDS, gettext_lazy("succeeds")),
    "DE62370400440532013001": ("debit_declined", gettext_lazy("declined")),
}
TOKEN_PREFIX = "sandbox_pm_"  # noqa: S105 -- not a secret
IDEMPOTENCY_SECONDS = 24 * 3600  # as long as Stripe keeps idempotency keys


def luhn_valid(number: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: country code, check digits, account; mod 97 of the rearranged
    number (letters as 10..35) is 1."""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if re.match(r"5[1-5]|2[2-7]", number):
        return "Mastercard"
    if re.match(r"3[47]", number):
        return "American Express"
    return _("Card")


def format_test_number(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


class SandboxGateway:
    name = "sandbox"

    def create_payment_method(self, *, kind: str, details: Mapping[str, str]) -> GatewayMethod:
        if kind == PaymentKind.CARD:
            return self._card(details)
        if kind == PaymentKind.SEPA_DIRECT_DEBIT:
            return self._sepa(details)
        raise PaymentRefused(
            _("The payment gateway handles cards and SEPA direct debit only."),
            code="unsupported_kind",
        )

    def _card(self, details: Mapping[str, str]) -> GatewayMethod:
        number = re.sub(r"[\s-]", "", details.get("number", ""))
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_valid(number):
            raise PaymentRefused(_("This card number is not valid."), code="incorrect_number")
        month, year = _expiry(details.get("exp_month", ""), details.get("exp_year", ""))
        if not re.fullmatch(r"[0-9]{3,4}", details.get("cvc", "").strip()):
            raise PaymentRefused(
                _("The security code (CVC) has 3 or 4 digits."), code="incorrect_cvc"
            )
        if number not in TEST_CARDS:
            raise PaymentRefused(
                _("The sandbox accepts only its test card numbers; never enter a real card."),
                code="not_a_test_card",
            )
        return GatewayMethod(
            token=_token(TEST_CARDS[number][0]),
            label=f"{card_brand(number)} •••• {number[-4:]}",
            expires_month=month,
            expires_year=year,
        )

    def _sepa(self, details: Mapping[str, str]) -> GatewayMethod:
        iban = re.sub(r"\s", "", details.get("iban", "")).upper()
        if not iban_valid(iban):
            raise PaymentRefused(
                _("This IBAN is not valid; please check it for typing errors."),
                code="invalid_iban",
            )
        if not details.get("account_holder", "").strip():
            raise PaymentRefused(_("Enter the account holder's name."), code="missing_holder")
        if iban not in TEST_IBANS:
            raise PaymentRefused(
                _("The sandbox accepts only its test IBANs; never enter a real account."),
                code="not_a_test_iban",
            )
        return GatewayMethod(
            token=_token(TEST_IBANS[iban][0]),
            label=f"SEPA {iban[:4]} •••• {iban[-4:]}",
            mandate_reference="KONTOR-" + secrets.token_hex(8).upper(),
        )

    def charge(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeResult:
        if not isinstance(amount, Decimal) or amount <= 0:
            raise ValueError(f"Charge a positive Decimal amount, not {amount!r}.")
        if not idempotency_key:
            raise ValueError("Every charge needs an idempotency key.")
        cache_key = "sandbox-charge:" + hashlib.sha256(idempotency_key.encode()).hexdigest()
        request = f"{token}|{amount}|{currency}"
        first_time = cache.add(cache_key, request, IDEMPOTENCY_SECONDS)
        if not first_time and cache.get(cache_key, request) != request:
            raise ValueError(f"Idempotency key {idempotency_key!r} was used for another charge.")
        result = _charge_result(token, idempotency_key)
        if first_time:
            logger.info(
                "Sandbox charge %s: %s %s %s (%s)",
                result.reference,
                amount,
                currency,
                result.status,
                description,
            )
        return result

    def detach(self, token: str) -> None:
        # The token charges the customer's card or account: never in a log, only its end.
        logger.info("Sandbox detached …%s", token[-4:])


def _expiry(month_text: str, year_text: str) -> tuple[int, int]:
    month_text, year_text = str(month_text).strip(), str(year_text).strip()
    if not (month_text.isdigit() and year_text.isdigit() and 1 <= int(month_text) <= 12):
        raise PaymentRefused(_("The expiry date is not valid."), code="invalid_expiry")
    month, year = int(month_text), int(year_text)
    if year < 100:
        year += 2000
    today = timezone.localdate()
    if (year, month) < (today.year, today.month):
        raise PaymentRefused(_("This card has expired."), code="expired_card")
    return month, year


def _token(outcome: str) -> str:
    return f"{TOKEN_PREFIX}{outcome}_{secrets.token_hex(12)}"


def _charge_result(token: str, idempotency_key: str) -> ChargeResult:
    digest = hashlib.sha256(f"{token}|{idempotency_key}".encode()).hexdigest()
    reference = f"sandbox_ch_{digest[:24]}"
    outcome = token.removeprefix(TOKEN_PREFIX).rpartition("_")[0]
    if not token.startswith(TOKEN_PREFIX) or outcome not in OUTCOMES:
        return ChargeResult(
            ChargeResult.DECLINED,
            reference,
            "no_such_payment_method",
            _("The payment gateway does not know this payment method."),
        )
    status, code = OUTCOMES[outcome]
    messages = {
        "card_declined": _("The card was declined."),
        "insufficient_funds": _("The card has insufficient funds."),
        "processing_error": _("The card could not be charged right now; try again later."),
        "debit_declined": _("The bank declined the direct debit."),
    }
    return ChargeResult(status, reference, code, messages.get(code, ""))
