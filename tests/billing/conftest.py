"""Fixtures of the billing tests."""

import pytest

from tests.billing.gateways import GATEWAY, ScriptedGateway


@pytest.fixture
def scripted(settings):
    """The scripted gateway (tests.billing.gateways), reset: script it per test."""
    settings.KONTOR_PAYMENT_GATEWAY = GATEWAY
    ScriptedGateway.reset()
    return ScriptedGateway
