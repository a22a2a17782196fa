"""The sandbox gateway: its documented test numbers, refusals, and idempotent charges."""

import logging
import uuid
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from subscriptions.exceptions import PaymentRefused
from subscriptions.gateways import ChargeResult, PaymentGateway, get_gateway
from subscriptions.gateways.sandbox import SandboxGateway, iban_valid, luhn_valid

# No database is needed, but the suite's session fixtures want one set up.
pytestmark = pytest.mark.django_db

NEXT_YEAR = str(timezone.localdate().year + 1)
gateway = SandboxGateway()


def add_card(number: str, month: str = "12", year: str = NEXT_YEAR, cvc: str = "123"):
    details = {"number": number, "exp_month": month, "exp_year": year, "cvc": cvc}
    return gateway.create_payment_method(kind="card", details=details)


def charge(token: str, key: str | None = None, amount: str = "9.90") -> ChargeResult:
    return gateway.charge(
        token=token,
        amount=Decimal(amount),
        currency="EUR",
        idempotency_key=key or str(uuid.uuid4()),
        description="Test",
    )


def test_the_configured_gateway_is_the_sandbox_and_implements_the_interface():
    assert isinstance(get_gateway(), SandboxGateway)
    assert isinstance(get_gateway(), PaymentGateway)


@override_settings(KONTOR_PAYMENT_GATEWAY="collections.OrderedDict")
def test_a_gateway_setting_naming_no_gateway_is_refused():
    with pytest.raises(TypeError, match="does not implement"):
        get_gateway()


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        ("4242 4242 4242 4242", "succeeded", ""),
        ("4000 0000 0000 0002", "declined", "card_declined"),
        ("4000 0000 0000 9995", "declined", "insufficient_funds"),
        ("4000 0000 0000 0119", "failed_temporarily", "processing_error"),
    ],
)
def test_each_test_card_is_accepted_and_charges_as_documented(number, status, code):
    method = add_card(number)

    result = charge(method.token)

    assert method.label == f"Visa •••• {number[-4:]}"
    assert (method.expires_month, method.expires_year) == (12, int(NEXT_YEAR))
    assert method.token.startswith("sandbox_pm_")
    assert number.replace(" ", "") not in method.token
    assert (result.status, result.error_code) == (status, code)
    assert result.reference.startswith("sandbox_ch_")
    assert result.succeeded is (status == "succeeded")
    assert bool(result.message) is (status != "succeeded")


def test_tokens_are_random():
    assert add_card("4242424242424242").token != add_card("4242424242424242").token


@pytest.mark.parametrize(
    ("iban", "status", "code"),
    [
        ("DE89 3704 0044 0532 0130 00", "succeeded", ""),
        ("de62370400440532013001", "declined", "debit_declined"),
    ],
)
def test_each_test_iban_is_accepted_with_a_mandate_and_debits_as_documented(iban, status, code):
    method = gateway.create_payment_method(
        kind="sepa_debit", details={"iban": iban, "account_holder": "Anna Schmidt"}
    )

    result = charge(method.token)

    assert method.label == f"SEPA DE{iban[2:4]} •••• {iban.replace(' ', '')[-4:]}"
    assert method.mandate_reference.startswith("KONTOR-")
    assert len(method.mandate_reference) <= 35
    assert (method.expires_month, method.expires_year) == (None, None)
    assert (result.status, result.error_code) == (status, code)


@pytest.mark.parametrize(
    ("details", "code", "message"),
    [
        ({"number": "4242 4242 4242 4241"}, "incorrect_number", "This card number is not valid."),
        ({"number": "4242"}, "incorrect_number", "This card number is not valid."),
        ({"exp_year": "2020"}, "expired_card", "This card has expired."),
        ({"exp_month": "13"}, "invalid_expiry", "The expiry date is not valid."),
        ({"cvc": "12"}, "incorrect_cvc", "The security code (CVC) has 3 or 4 digits."),
        (
            {"number": "5555 5555 5555 4444"},
            "not_a_test_card",
            "The sandbox accepts only its test card numbers; never enter a real card.",
        ),
    ],
)
def test_bad_card_details_are_refused_with_a_clear_message(details, code, message):
    card = {"number": "4242424242424242", "exp_month": "1", "exp_year": NEXT_YEAR, "cvc": "123"}

    with pytest.raises(PaymentRefused) as refused:
        gateway.create_payment_method(kind="card", details=card | details)

    assert (refused.value.code, str(refused.value)) == (code, message)


def test_a_card_expiring_this_month_is_still_accepted():
    today = timezone.localdate()

    method = add_card("4242424242424242", month=str(today.month), year=str(today.year))

    assert method.expires_year == today.year


@pytest.mark.parametrize(
    ("iban", "code"),
    [
        ("DE89 3704 0044 0532 0130 01", "invalid_iban"),  # checksum off by one digit
        ("DE89", "invalid_iban"),
        ("GB82 WEST 1234 5698 7654 32", "not_a_test_iban"),  # valid, but not a test IBAN
    ],
)
def test_bad_ibans_are_refused(iban, code):
    with pytest.raises(PaymentRefused) as refused:
        gateway.create_payment_method(
            kind="sepa_debit", details={"iban": iban, "account_holder": "Anna Schmidt"}
        )

    assert refused.value.code == code


def test_the_checksums():
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424241")
    assert iban_valid("DE89370400440532013000")
    assert iban_valid("GB82WEST12345698765432")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("de89370400440532013000")  # normalised by the caller


def test_invoice_is_not_a_gateway_method():
    with pytest.raises(PaymentRefused) as refused:
        gateway.create_payment_method(kind="invoice", details={})

    assert refused.value.code == "unsupported_kind"


def test_the_same_idempotency_key_returns_the_first_result_and_charges_once(caplog):
    token = add_card("4242424242424242").token
    key = f"invoice-1-attempt-1-{uuid.uuid4()}"

    with caplog.at_level(logging.INFO, logger="subscriptions.gateways.sandbox"):
        first = charge(token, key)
        second = charge(token, key)

    assert second == first
    assert [r.message for r in caplog.records].count(
        f"Sandbox charge {first.reference}: 9.90 EUR succeeded (Test)"
    ) == 1
    assert charge(token).reference != first.reference  # a new key is a new charge


def test_a_key_reused_for_another_charge_is_refused():
    token = add_card("4242424242424242").token
    key = str(uuid.uuid4())
    charge(token, key)

    with pytest.raises(ValueError, match="was used for another charge"):
        charge(token, key, amount="10.00")


def test_a_failed_charge_is_remembered_too():
    token = add_card("4000000000000119").token
    key = str(uuid.uuid4())

    assert charge(token, key) == charge(token, key)
    assert charge(token, key).status == "failed_temporarily"


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-1.00"), 9.9])
def test_charges_need_a_positive_decimal(amount):
    with pytest.raises(ValueError, match="positive Decimal"):
        gateway.charge(
            token="sandbox_pm_succeeds_00",
            amount=amount,
            currency="EUR",
            idempotency_key="k",
            description="",
        )


def test_an_unknown_token_is_declined():
    result = charge("pm_from_another_gateway")

    assert (result.status, result.error_code) == ("declined", "no_such_payment_method")
