"""Payment gateways: the interface (`base`), the built-in sandbox (`sandbox`), and
`get_gateway()`, which returns the one named by the setting `KONTOR_PAYMENT_GATEWAY`
(a dotted path to a class whose instances take no arguments)."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .base import ChargeResult, GatewayMethod, PaymentGateway

__all__ = ["ChargeResult", "GatewayMethod", "PaymentGateway", "get_gateway"]


def get_gateway() -> PaymentGateway:
    """The configured gateway (one instance per class path and process)."""
    return _gateway(settings.KONTOR_PAYMENT_GATEWAY)


@cache
def _gateway(path: str) -> PaymentGateway:
    gateway = import_string(path)()
    if not isinstance(gateway, PaymentGateway):
        raise TypeError(f"{path} does not implement subscriptions.gateways.PaymentGateway.")
    return gateway
