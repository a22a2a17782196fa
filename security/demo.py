"""The demo's two-factor device (used by `manage.py seed_demo` and `otp_demo_code`).

The demo Administrator must use two-factor login like any Administrator; no exemption
exists, not even with DJANGO_DEBUG. So the demo seeds a TOTP device whose secret is
published here: `manage.py otp_demo_code` prints its current code, or add DEMO_SECRET to
an authenticator app. The secret is public, so the demo login is exactly as secret as
the demo password: never run seed_demo against a real database.
"""

from __future__ import annotations

import base64
import time

from django.contrib.auth import get_user_model
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

DEMO_KEY_HEX = "4b6f6e746f722d64656d6f2d746f74702d6b6579"  # b"Kontor-demo-totp-key"
DEMO_SECRET = base64.b32encode(bytes.fromhex(DEMO_KEY_HEX)).decode()
DEMO_DEVICE_NAME = "Demo authenticator (public secret)"


def seed_demo_device(*, email: str) -> dict[str, int]:
    """The user's demo device, confirmed, with the published key; idempotent. A device
    the user enrolled themselves is left alone (and no demo device is added)."""
    user = get_user_model().objects.get(email=email)
    devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    if devices.filter(key=DEMO_KEY_HEX).exists() or devices.exists():
        return {"created": 0, "updated": 0, "unchanged": 1}
    TOTPDevice.objects.create(user=user, name=DEMO_DEVICE_NAME, key=DEMO_KEY_HEX, confirmed=True)
    return {"created": 1, "updated": 0, "unchanged": 0}


def demo_code(*, at: float | None = None) -> str:
    """The demo device's current code (30-second steps, 6 digits: django-otp's defaults)."""
    totp = TOTP(bytes.fromhex(DEMO_KEY_HEX), step=30, t0=0, digits=6)
    totp.time = at if at is not None else time.time()
    return f"{totp.token():06d}"
