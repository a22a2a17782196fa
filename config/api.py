"""The integration API at /api/v1/: one NinjaAPI (api.ninja.KontorAPI) with the domain
apps' routers mounted. Each app's api.py owns its paths; this file only puts them
together. Schema at /api/v1/openapi.json, interactive docs at /api/v1/docs."""

from api.ninja import KontorAPI
from billing.api import router as billing_router
from coupons.api import router as coupons_router
from notifications.api import router as notifications_router
from seats.api import router as seats_router
from subscriptions.api import router as subscriptions_router

api = KontorAPI(
    title="Kontor API",
    version="1.0.0",
    description=(
        "The integration API of Kontor for the merchant's other systems: customers, "
        "subscriptions, multi-user seats, coupons, invoices and callbacks. Authenticate "
        "with `Authorization: Bearer <API key>`. Errors are RFC 9457 problem details with "
        "a stable `code`. See docs/api.md."
    ),
    urls_namespace="api-v1",
)
api.add_router("/", subscriptions_router)
api.add_router("/", seats_router)
api.add_router("/", coupons_router)
api.add_router("/", billing_router)
api.add_router("/", notifications_router)
