"""Callback secrets, bodies and signatures, the Standard Webhooks way
(https://www.standardwebhooks.com/): what a receiver needs to trust a callback.

No Django models here: plain values in, plain values out.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's marker, not a secret)
SECRET_BYTES = 32
USER_AGENT = "Kontor-Webhooks/1"


def secret_generate() -> str:
    """A new signing secret: "whsec_" and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_mask(secret: str) -> str:
    """What staff see after the one time the secret is shown: "whsec_…abcd"."""
    if not secret:
        return ""
    return f"{SECRET_PREFIX}…{secret[-4:]}"


def callback_body(
    *,
    event_type: str,
    event_id: str,
    occurred_at: datetime,
    subject_type: str,
    subject_id: str,
    payload: dict[str, Any],
) -> str:
    """The JSON a receiver gets (README, "Callbacks: verifying signatures"). The same
    event gives the same body on every attempt; only the signature headers change."""
    data = {
        **payload,
        # After the payload, so an emitter's key of the same name cannot hide them.
        "event_id": event_id,
        "subject": {"type": subject_type, "id": subject_id} if subject_type else None,
    }
    body = {
        "type": event_type,
        "timestamp": occurred_at.astimezone(UTC).isoformat(),
        "data": data,
    }
    # ASCII only: the bytes sent and the text signed are then the same in any encoding.
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=True)


def callback_headers(
    *,
    secret: str,
    msg_id: str,
    sent_at: datetime,
    body: str,
    previous_secrets: Sequence[str] = (),
) -> dict[str, str]:
    """The headers of one attempt: the id stays the same for every attempt (receivers
    deduplicate on it); timestamp and signature are those of this attempt.

    During a rotation's grace period the previous secret signs too: Standard Webhooks
    sends several space-separated signatures ("v1,<new> v1,<old>") and a receiver
    accepts the callback when any of them matches its secret."""
    timestamp = int(sent_at.timestamp())
    # Webhook.sign() replaces the tzinfo with UTC instead of converting: give it UTC.
    signed_at = datetime.fromtimestamp(timestamp, tz=UTC)
    signature = " ".join(
        Webhook(key).sign(msg_id, signed_at, body) for key in (secret, *previous_secrets)
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
