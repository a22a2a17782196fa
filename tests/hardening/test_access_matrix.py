"""The object-level access matrix (issue 10, point 6): every route that takes an object's
id, found by walking the URL configuration (the portal, the admin site and the ninja API),
requested with another party's object by each persona that must not see it, answers
exactly as it does for an id that never existed: same status, same body (once the id
itself is blanked), and none of the owner's data.

- The routes come from `django.urls.get_resolver()`, not from a list kept by hand.
  `test_every_object_route_is_covered` fails on a route with a parameter that is neither
  in `REGISTRY` (how to build the owned object and its id) nor in `PUBLIC` (routes that
  are public by design, each with its reason).
- Personas: another customer's main user; a seat holder of the owner's subscription (an
  invited user, not the account's admin); a seat holder of the other customer's
  subscription; anonymous; and, in the admin, a staff member
  holding every permission but the model's own, or, in the API, a key holding every
  scope but the operation's.
- A control request by the owner (or a superuser, or a key with every scope) answers
  something other than 404 for each GET route, so a builder that built the wrong object
  cannot make the matrix pass by accident.

docs/hardening.md, "Object-level access", says how to add a route.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from tests.hardening.access_world import (
    CANARY,
    World,
    build_world,
    export_job_remove,
    key_without,
    staff_without,
)
from tests.seats.factories import NOW

UNKNOWN = {
    "uuid": "5c0ffee5-0000-4000-8000-00000000dead",
    "int": "987654321",
    "path": "987654321",
    "str": "no-such-object-4711",
    "slug": "no-such-object-4711",
}
OUR_APPS = ("catalog", "coupons", "subscriptions", "seats", "billing", "notifications", "api")


# --- discovering the routes ---------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern with parameters (for the API: one operation)."""

    key: str  # the route as text; API operations are prefixed with their method
    params: tuple[tuple[str, str], ...]  # (name, converter) pairs
    zone: str  # "portal", "admin" or "api"
    scope: str = ""  # API: the scope the operation needs

    def __str__(self) -> str:
        return self.key


def _converter(converter) -> str:
    name = type(converter).__name__.removesuffix("Converter").lower()
    return {"string": "str"}.get(name, name)


def _walk(resolver: URLResolver, prefix: str = "", params=()) -> Iterator[tuple]:
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        found = params + _params(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, text, found)
        elif isinstance(pattern, URLPattern):
            yield text, found, pattern


def _params(pattern) -> tuple[tuple[str, str], ...]:
    if isinstance(pattern, RoutePattern):
        return tuple((name, _converter(c)) for name, c in pattern.converters.items())
    return tuple((name, "regex") for name in pattern.regex.groupindex)


def _ninja_operation(pattern: URLPattern):
    """The django-ninja operation behind an API URL pattern (ninja mounts one pattern per
    operation, each calling its path's PathView)."""
    for cell in pattern.callback.__closure__ or ():
        operations = getattr(cell.cell_contents, "operations", None)
        if operations:
            return next(op for op in operations if op.view_func.__name__ == pattern.name)
    return None


def discover_routes() -> list[Route]:
    routes = []
    for text, params, pattern in _walk(get_resolver()):
        if not params:
            continue
        if text.startswith("api/"):
            operation = _ninja_operation(pattern)
            for method in operation.methods:
                scope = operation.auth_callbacks[0].required_scope
                routes.append(Route(f"{method} {text}", params, "api", scope))
        elif text.startswith("admin/") or text.startswith("billing/contracts/"):
            routes.append(Route(text, params, "admin"))
        else:
            routes.append(Route(text, params, "portal"))
    return routes


# --- the registry: how to build an owned object and its id -------------------------------


@dataclass
class Target:
    """The owned object as a route names it."""

    kwargs: dict[str, str]  # the URL's parameters for the owned object
    markers: tuple[str, ...]  # texts of the object that no foreign response may show
    watched: object | None = None  # a row that a refused POST must leave unchanged
    fixed: tuple[str, ...] = ()  # parameters that name no object (kept for the unknown id)


@dataclass(frozen=True)
class Entry:
    build: Callable[[World], Target]
    methods: tuple[str, ...] = ("GET",)
    model: str = ""  # admin: the model whose permissions the staff persona lacks
    data: dict = field(default_factory=dict)


def _uuid(name: str, pick: Callable[[World], object], *markers: str) -> Callable:
    def build(world: World) -> Target:
        row = pick(world)
        return Target({name: str(row.public_id)}, (CANARY, *markers), row)

    return build


def _seat_route(name: str, pick: Callable[[World], object]) -> Callable:
    def build(world: World) -> Target:
        row = pick(world)
        kwargs = {"account_id": str(world.account.public_id), name: str(row.public_id)}
        return Target(kwargs, (CANARY,), row)

    return build


def _api(name: str, value: Callable[[World], str], watched=None) -> Callable:
    def build(world: World) -> Target:
        return Target({name: value(world)}, (CANARY,), watched(world) if watched else None)

    return build


def _pk(name: str, model_label: str, **fixed: str) -> Callable:
    def build(world: World) -> Target:
        row = world.admin_rows[model_label]
        markers = (CANARY,) if CANARY in str(row) else (str(row),)
        return Target({name: str(row.pk), **fixed}, markers, row, tuple(fixed))

    return build


def _admin_entries() -> dict[str, Entry]:
    """The four pages Django's admin mounts for every registered model, from the model's
    row in the world (`World.admin_rows`)."""
    entries = {}
    for model in admin.site._registry:
        label = model._meta.label_lower
        if label not in ADMIN_MODELS:
            continue
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/"
        for suffix in ("", "change/", "delete/", "history/"):
            entries[base + suffix] = Entry(_pk("object_id", label), model=label)
    return entries


# The models the admin site registers; each needs its row in access_world._admin_rows.
ADMIN_MODELS = {
    "auth.group", "auditlog.logentry", "otp_totp.totpdevice", "django_q.schedule",
    "django_q.success",
    "django_q.failure",
    "django_q.ormq", "notifications.callbackendpoint", "notifications.callbackdelivery",
    "notifications.event", "notifications.mailtemplate", "notifications.mailmessage",
    "api.apikey", "catalog.contractfolder", "catalog.reportingtag",
    "catalog.corporatecontract", "catalog.corporateoffer", "catalog.offer", "catalog.product",
    "catalog.discount", "catalog.term", "catalog.bundle", "catalog.plan", "coupons.campaign",
    "coupons.code", "subscriptions.couponredemption", "subscriptions.customer",
    "subscriptions.paymentmethod", "subscriptions.subscription", "subscriptions.user",
    "seats.seataccount", "seats.usersubscription", "seats.invitation", "seats.logentry",
    "billing.invoice", "billing.invoiceline", "billing.bankstatement",
    "billing.bankstatementline", "billing.billinghold", "billing.payment",
    "billing.paymentattempt", "billing.dunning", "billing.dunningpolicy", "billing.billingrun",
}  # fmt: skip

STATUS = {"status": "archived"}
A = "admin/"


def _admin_custom() -> dict[str, Entry]:
    """Pages the project's ModelAdmins add (get_urls), and the staff pages outside
    /admin/ (the contract's price chart)."""
    e = Entry
    return {
        A + "r/<path:content_type_id>/<path:object_id>/": e(_view_on_site, model="subscriptions.subscription"),  # noqa: E501
        A + "reports/corporate/<uuid:public_id>/": e(_uuid("public_id", lambda w: w.corporate), model="subscriptions.subscription"),  # noqa: E501
        A + "notifications/callbackendpoint/<int:pk>/secret/": e(_pk("pk", "notifications.callbackendpoint"), ("GET", "POST"), "notifications.callbackendpoint"),  # noqa: E501
        A + "notifications/callbackendpoint/<int:pk>/rotate-secret/": e(_pk("pk", "notifications.callbackendpoint"), ("GET", "POST"), "notifications.callbackendpoint"),  # noqa: E501
        A + "notifications/callbackendpoint/<int:pk>/ping/": e(_pk("pk", "notifications.callbackendpoint"), ("POST",), "notifications.callbackendpoint"),  # noqa: E501
        A + "notifications/callbackdelivery/<int:pk>/replay/": e(_pk("pk", "notifications.callbackdelivery"), ("POST",), "notifications.callbackdelivery"),  # noqa: E501
        A + "notifications/mailtemplate/<path:object_id>/preview/": e(_pk("object_id", "notifications.mailtemplate"), model="notifications.mailtemplate"),  # noqa: E501
        A + "notifications/mailtemplate/<path:object_id>/preview/html/": e(_pk("object_id", "notifications.mailtemplate"), model="notifications.mailtemplate"),  # noqa: E501
        A + "api/apikey/<int:pk>/key/": e(_pk("pk", "api.apikey"), model="api.apikey"),
        A + "otp_totp/totpdevice/<int:pk>/config/": e(_pk("pk", "otp_totp.totpdevice"), model="otp_totp.totpdevice"),  # noqa: E501
        A + "otp_totp/totpdevice/<int:pk>/qrcode/": e(_pk("pk", "otp_totp.totpdevice"), model="otp_totp.totpdevice"),  # noqa: E501
        **{
            A + f"catalog/{name}/<path:object_id>/status/<str:status>/": e(_pk("object_id", f"catalog.{name}", **STATUS), ("POST",), f"catalog.{name}")  # noqa: E501
            for name in ("corporatecontract", "corporateoffer", "offer", "product", "discount", "term", "bundle", "plan")  # noqa: E501
        },
        A + "coupons/campaign/<path:object_id>/status/<str:status>/": e(_pk("object_id", "coupons.campaign", status="disabled"), ("POST",), "coupons.campaign"),  # noqa: E501
        A + "coupons/campaign/<path:object_id>/progress/": e(_pk("object_id", "coupons.campaign"), model="coupons.campaign"),  # noqa: E501
        A + "subscriptions/subscription/<path:object_id>/lifecycle/<slug:step>/": e(_pk("object_id", "subscriptions.subscription", step="cancel"), ("POST",), "subscriptions.subscription"),  # noqa: E501
        A + "subscriptions/user/<id>/password/": e(_pk("id", "subscriptions.user"), model="subscriptions.user"),  # noqa: E501
        A + "seats/seataccount/<int:pk>/invite/": e(_pk("pk", "seats.seataccount"), model="seats.seataccount"),  # noqa: E501
        A + "seats/seataccount/<int:pk>/add-user/": e(_pk("pk", "seats.seataccount"), model="seats.seataccount"),  # noqa: E501
        A + "seats/seataccount/for-subscription/<int:subscription_pk>/": e(_pk("subscription_pk", "subscriptions.subscription"), model="seats.seataccount"),  # noqa: E501
        A + "billing/invoice/<path:object_id>/pay/": e(_pk("object_id", "billing.invoice"), ("GET", "POST"), "billing.invoice"),  # noqa: E501
        A + "billing/invoice/<path:object_id>/credit-note/": e(_pk("object_id", "billing.invoice"), ("GET", "POST"), "billing.invoice"),  # noqa: E501
        A + "billing/invoice/<path:object_id>/pdf/": e(_pk("object_id", "billing.invoice"), model="billing.invoice"),  # noqa: E501
        A + "billing/invoice/<path:object_id>/xrechnung/": e(_pk("object_id", "billing.invoice"), model="billing.invoice"),  # noqa: E501
        A + "billing/invoice/finance-exports/<str:job_id>/": e(_export_job, model="billing.invoice"),  # noqa: E501
        A + "billing/invoice/finance-exports/<str:job_id>/download/": e(_export_job, model="billing.invoice"),  # noqa: E501
        A + "billing/bankstatementline/<path:object_id>/review/": e(_pk("object_id", "billing.bankstatementline"), ("GET", "POST"), "billing.bankstatementline"),  # noqa: E501
        A + "billing/dunning/<path:object_id>/retry/": e(_pk("object_id", "billing.dunning"), ("POST",), "billing.dunning"),  # noqa: E501
        "billing/contracts/<int:pk>/price-chart.svg": e(_pk("pk", "catalog.corporatecontract"), model="catalog.corporatecontract"),  # noqa: E501
    }  # fmt: skip


def _view_on_site(world: World) -> Target:
    row = world.subscription
    content_type = ContentType.objects.get_for_model(row)
    kwargs = {"content_type_id": str(content_type.pk), "object_id": str(row.pk)}
    return Target(kwargs, (CANARY, str(row.public_id)), row, ("content_type_id",))


def _export_job(world: World) -> Target:
    """A finance export belongs to the staff member who started it."""
    return Target({"job_id": world.export_job_id}, (CANARY,))


P = "portal/"
S = "portal/seats/<uuid:account_id>/"
POST = ("GET", "POST")
V = "api/v1/"


def _portal() -> dict[str, Entry]:
    e, subscription = Entry, _uuid("public_id", lambda w: w.subscription)
    account = _uuid("account_id", lambda w: w.account)
    return {
        P + "subscriptions/<uuid:public_id>/": e(subscription),
        P + "subscriptions/<uuid:public_id>/cancel/": e(subscription, POST, data={"mode": "end_of_period"}),  # noqa: E501
        P + "subscriptions/<uuid:public_id>/undo-cancellation/": e(subscription, ("POST",)),
        P + "subscriptions/<uuid:public_id>/payment-method/": e(subscription, POST, data={"payment_method": "new"}),  # noqa: E501
        P + "usage/<uuid:public_id>/": e(_uuid("public_id", lambda w: w.corporate)),
        S: e(account),
        S + "invite/": e(account, POST, data={"email": "new@example.com"}),
        S + "upload/": e(account),
        S + "log/": e(account),
        S + "log.csv": e(account),
        S + "domains/": e(account, POST, data={"domain": "evil.example"}),
        S + "ip-ranges/": e(account, POST, data={"cidr": "203.0.113.0/24"}),
        S + "settings/": e(account, POST, data={"maximum_users": "1"}),
        S + "users/<uuid:user_subscription_id>/cancel/": e(_seat_route("user_subscription_id", lambda w: w.seat), ("POST",), data={"mode": "now"}),  # noqa: E501
        S + "users/<uuid:user_subscription_id>/reactivate/": e(_seat_route("user_subscription_id", lambda w: w.seat), ("POST",)),  # noqa: E501
        S + "invitations/<uuid:invitation_id>/revoke/": e(_seat_route("invitation_id", lambda w: w.invitation), ("POST",)),  # noqa: E501
        S + "invitations/<uuid:invitation_id>/resend/": e(_seat_route("invitation_id", lambda w: w.invitation), ("POST",)),  # noqa: E501
        "billing/invoices/<uuid:public_id>/": e(_uuid("public_id", lambda w: w.invoice)),
        "billing/invoices/<uuid:public_id>/pdf/": e(_uuid("public_id", lambda w: w.invoice)),
        "billing/invoices/<uuid:public_id>/xrechnung.xml": e(_uuid("public_id", lambda w: w.invoice)),  # noqa: E501
    }  # fmt: skip


def _api_entries() -> dict[str, Entry]:
    def sub(w):
        return str(w.subscription.public_id)

    customer = _api("customer_id", lambda w: str(w.owner.public_id), lambda w: w.owner)
    subscription = _api("subscription_id", sub, lambda w: w.subscription)
    corporate = _api("subscription_id", lambda w: str(w.corporate.public_id))
    seat = _api("user_subscription_id", lambda w: str(w.seat.public_id), lambda w: w.seat)
    invoice = _api("invoice_id", lambda w: str(w.invoice.public_id), lambda w: w.invoice)
    campaign = _api("campaign_code", lambda w: w.campaign.code, lambda w: w.campaign)
    code = _api("code", lambda w: w.code.code, lambda w: w.code)

    def invitation(w: World) -> Target:
        kwargs = {"subscription_id": sub(w), "invitation_id": str(w.invitation.public_id)}
        return Target(kwargs, (CANARY,), w.invitation)

    def domain(w: World) -> Target:
        return Target({"subscription_id": sub(w), "domain": w.domain}, (CANARY,), w.account)

    def endpoint(w: World) -> Target:
        return Target({"endpoint_id": str(w.endpoint.public_id)}, (CANARY,), w.endpoint)

    e, seats = Entry, "subscriptions/<subscription_id>/seats"
    return {
        f"GET {V}customers/<customer_id>": e(customer),
        f"PATCH {V}customers/<customer_id>": e(customer),
        f"GET {V}subscriptions/<subscription_id>": e(subscription),
        f"POST {V}subscriptions/<subscription_id>/cancel": e(subscription),
        f"POST {V}subscriptions/<subscription_id>/undo-cancellation": e(subscription),
        f"GET {V}subscriptions/<subscription_id>/usage": e(corporate),
        f"POST {V}coupon-codes/<code>/validate": e(code),
        f"POST {V}coupon-codes/<code>/redeem": e(code),
        f"GET {V}coupon-codes/<code>": e(code),
        **{f"{m} {V}{seats}{rest}": e(subscription) for m, rest in (
            ("GET", ""), ("PATCH", "/settings"), ("GET", "/users"), ("POST", "/users"),
            ("GET", "/invitations"), ("POST", "/invitations"), ("GET", "/domains"),
            ("POST", "/domains"), ("GET", "/ip-ranges"), ("POST", "/ip-ranges"),
            ("DELETE", "/ip-ranges"), ("GET", "/log"),
        )},
        f"GET {V}user-subscriptions/<user_subscription_id>": e(seat),
        f"POST {V}user-subscriptions/<user_subscription_id>/cancel": e(seat),
        f"POST {V}user-subscriptions/<user_subscription_id>/undo-cancellation": e(seat),
        f"POST {V}user-subscriptions/<user_subscription_id>/reactivate": e(seat),
        f"POST {V}{seats}/invitations/<invitation_id>/revoke": e(invitation),
        f"POST {V}{seats}/invitations/<invitation_id>/resend": e(invitation),
        f"DELETE {V}{seats}/domains/<domain>": e(domain),
        f"GET {V}coupon-campaigns/<campaign_code>": e(campaign),
        f"POST {V}coupon-campaigns/<campaign_code>/disable": e(campaign),
        f"POST {V}coupon-campaigns/<campaign_code>/enable": e(campaign),
        f"POST {V}coupon-campaigns/<campaign_code>/codes": e(campaign),
        f"GET {V}coupon-campaigns/<campaign_code>/codes": e(campaign),
        f"GET {V}invoices/<invoice_id>": e(invoice),
        f"GET {V}invoices/<invoice_id>/pdf": e(invoice),
        f"GET {V}invoices/<invoice_id>/xrechnung": e(invoice),
        f"POST {V}invoices/<invoice_id>/payments": e(invoice),
        f"POST {V}callbacks/endpoints/<endpoint_id>/ping": e(endpoint),
    }  # fmt: skip


REGISTRY: dict[str, Entry] = {
    **_admin_entries(),
    **_admin_custom(),
    **_portal(),
    **_api_entries(),
}


# Routes with a parameter that are public by design: what the parameter names is no
# object of anyone's, or knowing it is the permission.
def _admin_app_index_pattern() -> str:
    """The admin's app index route, as AdminSite.get_urls builds it from the apps that
    register models (in registration order)."""
    from django.contrib import admin

    labels = list(dict.fromkeys(model._meta.app_label for model in admin.site._registry))
    return "admin/^(?P<app_label>" + "|".join(labels) + ")/$"


PUBLIC = {
    "portal/checkout/<slug:offer_code>/": "an offer's public sales page",
    "portal/password/reset/<uidb64>/<token>/": "Django's signed password-reset link",
    "join/<str:code>/": "an invitation code: holding the code is the invitation",
    "join/domain/<uuid:account_id>/": "the landing page a merchant publishes for domain "
    "self-activation (404 unless the account lists domains)",
    "join/domain/confirm/<str:token>/": "a signed, expiring confirmation link",
    "admin/reports/charts/<slug:key>.csv": "a chart's name, not an object (permission "
    "checked per chart, tests/reports)",
    _admin_app_index_pattern(): "an admin app's index, no object",
    "admin/(?P<url>.*)$": "the admin's catch-all (login redirect or 404), no object",
}

ROUTES = discover_routes()
MATRIX_ROUTES = [route for route in ROUTES if route.key in REGISTRY]
SIGNED_IN = ("other_customer", "seat_holder", "seat_holder_elsewhere")
PERSONAS = {
    "portal": (*SIGNED_IN, "anonymous"),
    "admin": (*SIGNED_IN, "anonymous", "staff_without_permission"),
    "api": (*SIGNED_IN, "anonymous", "key_without_scope"),
}
CASES = [
    pytest.param(route, persona, id=f"{route}::{persona}")
    for route in MATRIX_ROUTES
    for persona in PERSONAS[route.zone]
]


# --- the data, built once for the module ----------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once inside a transaction that is rolled back after the module; every test
    runs in a savepoint within it (pytest-django's `db`), so nothing a test does (nor
    the world) outlives the module."""
    with django_db_blocker.unblock(), time_machine.travel(NOW, tick=True), transaction.atomic():
        world = build_world()
        for route in MATRIX_ROUTES:
            model = REGISTRY[route.key].model
            if route.zone == "admin" and model not in world.staff_without:
                world.staff_without[model] = staff_without(model)
            if route.zone == "api" and route.scope not in world.keys_without:
                world.keys_without[route.scope] = key_without(route.scope)
        # Check the deferred foreign keys of the world now: otherwise each test's
        # teardown checks them all again (a savepoint's rollback re-queues them).
        connection.check_constraints()
        yield world
        export_job_remove(world.export_job_id)
        transaction.set_rollback(True)


@pytest.fixture
def travel(world):
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.KONTOR_API_RATE_LIMIT = "100000/m"


def _client(persona: str, route: Route, world: World) -> Client:
    client = Client()
    users = {
        "other_customer": world.other_customer_user,
        "seat_holder": world.seat_holder,
        "seat_holder_elsewhere": world.seat_holder_elsewhere,
        "staff_without_permission": world.staff_without.get(REGISTRY[route.key].model),
        "owner": world.owner.main_user if route.zone == "portal" else world.owner_staff,
    }
    if persona == "key_without_scope":
        return Client(HTTP_AUTHORIZATION=f"Bearer {world.keys_without[route.scope]}")
    if persona == "owner" and route.zone == "api":
        return Client(HTTP_AUTHORIZATION=f"Bearer {world.full_key}")
    if users.get(persona) is not None:
        client.force_login(users[persona])
    return client


# --- requests and their comparison -------------------------------------------------------


def _path(route: Route, kwargs: dict[str, str]) -> str:
    path = route.key.split(" ")[-1]
    for name, converter in route.params:
        path = re.sub(rf"<(?:{converter}:)?{name}>", kwargs[name], path)
    return "/" + path


def _unknown(route: Route, target: Target) -> dict[str, str]:
    return {
        name: target.kwargs[name] if name in target.fixed else UNKNOWN[converter]
        for name, converter in route.params
    }


def _request(client: Client, method: str, path: str, entry: Entry, route: Route):
    if route.zone == "api":
        return client.generic(method, path, "{}", content_type="application/json")
    if method == "POST":
        return client.post(path, entry.data)
    return client.get(path)


NOISE = [
    re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'),
    re.compile(r'nonce="[^"]*"'),
    re.compile(r'"instance":\s*"[^"]*"'),
]


def _normal(response, kwargs: dict[str, str]) -> tuple[int, str, str]:
    """Status, Location and body with the ids and per-request tokens blanked."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", errors="replace")
    location = response.get("Location", "")
    for value in sorted(kwargs.values(), key=len, reverse=True):
        text, location = text.replace(value, "<id>"), location.replace(value, "<id>")
    for noise in NOISE:
        text = noise.sub("", text)
    return response.status_code, location, text


def _table_counts() -> dict[str, int]:
    """Every table of our apps, counted in one query: a refused POST adds or removes
    nothing anywhere."""
    tables = [m._meta.db_table for name in OUR_APPS for m in apps.get_app_config(name).get_models()]
    # The table names come from the models' own meta, not from any input.
    counts = ", ".join(f'(SELECT count(*) FROM "{table}")' for table in tables)  # noqa: S608
    sql = f"SELECT {counts}"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables, cursor.fetchone(), strict=True))


def _snapshot(target: Target, method: str):
    if method == "GET":
        return None
    row = target.watched
    current = type(row)._default_manager.filter(pk=row.pk).first() if row is not None else None
    return _table_counts(), model_to_dict(current) if current is not None else None


def _expected(route: Route, persona: str) -> set[int]:
    if route.zone == "api":
        return {403} if persona == "key_without_scope" else {401}
    if persona == "anonymous" or (route.zone == "admin" and persona != "staff_without_permission"):
        return {302}
    if route.zone == "admin":
        return {302, 403, 404}
    return {404}


def _login_page(route: Route) -> str:
    return "/admin/login/" if route.zone == "admin" else "/portal/login/"


# --- the tests ------------------------------------------------------------------------------


def test_every_object_route_is_covered():
    """A route with a parameter is in the registry or on the public list, and both lists
    name only routes that exist."""
    keys = {route.key for route in ROUTES}
    uncovered = sorted(keys - REGISTRY.keys() - PUBLIC.keys())
    assert not uncovered, "Routes with an object id but no entry in REGISTRY (or PUBLIC):\n" + (
        "\n".join(uncovered)
    )
    assert not (REGISTRY.keys() | PUBLIC.keys()) - keys, "entries for routes that do not exist"
    assert not REGISTRY.keys() & PUBLIC.keys()


def test_every_admin_model_has_its_row(world, db):
    """The admin's generated pages need one row per registered model to ask about."""
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == ADMIN_MODELS, (
        f"Admin models without a row in access_world._admin_rows: {registered - ADMIN_MODELS}; "
        f"no longer registered: {ADMIN_MODELS - registered}"
    )
    missing = [label for label in ADMIN_MODELS if world.admin_rows.get(label) is None]
    assert not missing


@pytest.mark.parametrize(("route", "persona"), CASES)
def test_foreign_id_answers_like_unknown(route, persona, world, db, travel):
    entry = REGISTRY[route.key]
    target = entry.build(world)
    client = _client(persona, route, world)
    for method in route.key.split(" ")[:1] if route.zone == "api" else entry.methods:
        before = _snapshot(target, method)
        foreign = _request(client, method, _path(route, target.kwargs), entry, route)
        after = _snapshot(target, method)
        unknown_kwargs = _unknown(route, target)
        unknown = _request(client, method, _path(route, unknown_kwargs), entry, route)

        status, location, body = _normal(foreign, target.kwargs)
        assert status in _expected(route, persona), (method, status, location)
        leaked = [marker for marker in target.markers if marker in body]
        assert not leaked, f"{method}: the response shows {leaked}"
        assert after == before, f"{method} changed something"
        same = (status, location, body) == _normal(unknown, unknown_kwargs)
        if persona == "staff_without_permission" and route.zone == "admin" and not same:
            assert not any(value in location for value in target.kwargs.values()), location
            continue
        assert same, f"{method}: a foreign id answers differently from an unknown one"
        if status == 302 and persona != "staff_without_permission":
            assert location.startswith(_login_page(route)), location


def _gets(route: Route) -> bool:
    if route.zone == "api":
        return route.key.startswith("GET ")
    return "GET" in REGISTRY[route.key].methods


@pytest.mark.parametrize("route", [route for route in MATRIX_ROUTES if _gets(route)], ids=str)
def test_owner_reaches_the_object(route, world, db, travel):
    """The control: for the object each builder names, the route answers its owner (the
    customer's main user, a superuser who started the export, a key with every scope)
    otherwise than for an unknown id, so the refusals above are about access, not about
    a wrong id. Pages closed to everyone (deleting what the admin never deletes, the
    admin's "view on site" for models without a public page) answer 403/404 to both."""
    entry = REGISTRY[route.key]
    target = entry.build(world)
    client = _client("owner", route, world)
    path = _path(route, target.kwargs)
    owned = _normal(_request(client, "GET", path, entry, route), target.kwargs)
    unknown_kwargs = _unknown(route, target)
    unknown = _request(client, "GET", _path(route, unknown_kwargs), entry, route)
    if re.fullmatch(r"admin/\w+/\w+/<path:object_id>/", route.key):
        # Django's old admin URL: a plain redirect to the change page, no lookup.
        assert owned == _normal(unknown, unknown_kwargs)
        assert owned[0] == 302
        return
    if _closed_to_all(route, world, target):
        assert owned[0] in (403, 404)
        return
    assert owned[0] in (200, 302), owned[:2]
    assert owned != _normal(unknown, unknown_kwargs)


def _closed_to_all(route: Route, world: World, target: Target) -> bool:
    if route.key.startswith("admin/r/"):
        return not hasattr(target.watched, "get_absolute_url")
    if route.key.startswith("admin/otp_totp/totpdevice/") and route.key.endswith(
        ("/config/", "/qrcode/")
    ):
        # OTP_ADMIN_HIDE_SENSITIVE_DATA: a device's key is shown to nobody.
        return settings.OTP_ADMIN_HIDE_SENSITIVE_DATA
    if not route.key.endswith("/delete/"):
        return False
    request = RequestFactory().get("/")
    request.user = world.owner_staff
    model_admin = admin.site._registry[apps.get_model(REGISTRY[route.key].model)]
    return not model_admin.has_delete_permission(request, target.watched)
