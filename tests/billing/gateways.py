"""A gateway for the collection tests whose answers are scripted, with a ledger.

It is the sandbox (same test cards, tokens and checks) with two additions a test needs:
the outcome of each *new* charge comes from a script (decline, decline, succeed …), and
every charge that really happened is in `ledger`. Like a real gateway (and the
sandbox), a repeated idempotency key answers with the first result and charges nothing.
Select it with `settings.KONTOR_PAYMENT_GATEWAY = GATEWAY` and reset it per test.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from subscriptions.gateways import ChargeResult
from subscriptions.gateways.sandbox import SandboxGateway

GATEWAY = "tests.billing.gateways.ScriptedGateway"


class GatewayDown(ConnectionError):
    pass


class ScriptedGateway(SandboxGateway):
    script: list[str] = []  # "succeeded", "declined", "failed_temporarily", "down"
    ledger: list[tuple[str, Decimal]] = []  # (idempotency key, amount) of real charges
    answers: dict[str, ChargeResult] = {}
    calls = 0
    _lock = threading.Lock()

    @classmethod
    def reset(cls, *script: str) -> None:
        cls.script, cls.ledger, cls.answers, cls.calls = list(script), [], {}, 0

    def charge(self, *, token, amount, currency, idempotency_key, description) -> ChargeResult:
        with self._lock:
            type(self).calls += 1
            if idempotency_key in self.answers:
                return self.answers[idempotency_key]
            outcome = self.script.pop(0) if self.script else "declined"
            if outcome == "down":
                raise GatewayDown("gateway unreachable")
            code = "" if outcome == "succeeded" else "card_declined"
            result = ChargeResult(
                outcome, f"ch_{len(self.answers) + 1}", code, "" if not code else "Declined."
            )
            self.answers[idempotency_key] = result
            if outcome == "succeeded":
                self.ledger.append((idempotency_key, amount))
            return result
