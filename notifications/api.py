"""The integration API's callbacks: the merchant's endpoints and a test ping (the same
service as the admin's "Send a test ping" button)."""

from __future__ import annotations

from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from api.auth import scope
from api.schemas import Timestamp
from notifications.models import CallbackEndpoint
from notifications.services.callbacks import callback_endpoint_ping

router = Router(tags=["callbacks"])


class EndpointOut(Schema):
    id: UUID
    name: str
    url: str
    event_types: list[str]
    active: bool
    created_at: Timestamp


class PingOut(Schema):
    endpoint: UUID
    event_type: str
    delivery_status: str
    queued_at: Timestamp


def _endpoint_out(endpoint: CallbackEndpoint) -> EndpointOut:
    return EndpointOut(
        id=endpoint.public_id,
        name=endpoint.name,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        active=endpoint.active,
        created_at=endpoint.created_at,
    )


@router.get("/callbacks/endpoints", response=list[EndpointOut], auth=scope("read"))
def endpoint_list(request):
    """The callback endpoints staff set up (a handful; not paginated)."""
    return [_endpoint_out(e) for e in CallbackEndpoint.objects.order_by("name", "pk")]


@router.post("/callbacks/endpoints/{endpoint_id}/ping", response={202: PingOut}, auth=scope("read"))
def endpoint_ping(request, endpoint_id: UUID):
    """Send a signed test event of type "ping" to one endpoint (active or not). It is
    delivered by a task; the delivery appears in the admin with the receiver's answer."""
    endpoint = get_object_or_404(CallbackEndpoint, public_id=endpoint_id)
    delivery = callback_endpoint_ping(endpoint_id=endpoint.pk)
    return Status(
        202,
        PingOut(
            endpoint=endpoint.public_id,
            event_type="ping",
            delivery_status=delivery.status,
            queued_at=delivery.created_at,
        ),
    )
