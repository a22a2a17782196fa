"""Self-activation (SPEC §3): e-mail domains and IP ranges of a seat account, the
landing page's registration with a confirmed address, and activation by IP range.

Decisions, documented here and in the README:

- A domain is a host name with at least one dot, stored lower-case in its ASCII
  (punycode) form; IP addresses, wildcards and the big public mail providers
  (`PUBLIC_MAIL_PROVIDERS`: anyone can get an address there) are refused.
- An IP range is a CIDR network, IPv4 or IPv6, stored normalised (host bits cleared).
  Ranges wider than /16 (IPv4) or /32 (IPv6) are refused as "too wide". Private ranges
  are allowed: a company network seen through the company's own proxy is private.
- A registration on the landing page only creates the user and e-mails a signed link
  (TimestampSigner, valid 2 days); the seat is taken when the link is opened, through
  `user_subscription_start` (which locks the account and refuses a full one).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from seats.exceptions import SeatError
from seats.models import EmailDomain, IPRange, SeatAccount, UserSubscription
from seats.services.seats import Via, user_subscription_start
from subscriptions.models import Subscription, User, normalize_email

logger = logging.getLogger(__name__)

PUBLIC_MAIL_PROVIDERS = frozenset(
    {
        "aol.com",
        "freenet.de",
        "gmail.com",
        "gmx.at",
        "gmx.ch",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hotmail.com",
        "hotmail.de",
        "icloud.com",
        "live.com",
        "live.de",
        "mail.de",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "outlook.de",
        "posteo.de",
        "proton.me",
        "protonmail.com",
        "t-online.de",
        "web.de",
        "yahoo.com",
        "yahoo.de",
        "yandex.ru",
        "zoho.com",
    }
)
MIN_PREFIX = {4: 16, 6: 32}
CONFIRM_SALT = "seats.domain_confirm"
CONFIRM_MAX_AGE = 2 * 24 * 3600  # seconds: the confirmation link is valid for 2 days
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class ActivationLinkInvalid(SeatError):
    """A confirmation link that cannot be used; `reason` picks the page."""

    MESSAGES = {
        "invalid": gettext_lazy("This confirmation link is not valid."),
        "expired": gettext_lazy(
            "This confirmation link has expired. Register again to get a new one."
        ),
        "used": gettext_lazy("This address has already been confirmed; your access is active."),
        "domain": gettext_lazy("This e-mail domain is no longer enabled for this subscription."),
    }

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(self.MESSAGES[reason])


# --- e-mail domains --------------------------------------------------------------------


def normalise_domain(value: str) -> str:
    """The domain as stored, or ValidationError with the reason it is refused."""
    domain = (value or "").strip().lower().lstrip("@").rstrip(".")
    if "*" in domain:
        raise ValidationError(_("Wildcards are not allowed; enter the domain itself."))
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValidationError(_("Enter a domain name, not an IP address."))
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(_("Enter a valid domain name, e.g. example.com.")) from None
    labels = domain.split(".")
    if (
        len(labels) < 2
        or len(domain) > 253
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(_("Enter a valid domain name, e.g. example.com."))
    if domain in PUBLIC_MAIL_PROVIDERS:
        raise ValidationError(
            _("%(domain)s is a public mail provider: anyone can get an address there.")
            % {"domain": domain}
        )
    return domain


def email_domain(email: str) -> str:
    return normalize_email(email).rpartition("@")[2]


@transaction.atomic
def domain_add(*, account: SeatAccount, domain: str, actor: User | None) -> EmailDomain:
    """List a domain whose users may activate a seat themselves; ValidationError when
    the domain is refused or already listed (nothing is created)."""
    domain = normalise_domain(domain)
    duplicate = ValidationError(_("%(domain)s is already listed.") % {"domain": domain})
    if EmailDomain.objects.filter(seat_account=account, domain=domain).exists():
        raise duplicate
    try:
        with transaction.atomic():
            return EmailDomain.objects.create(seat_account=account, domain=domain)
    except IntegrityError:  # added by a concurrent request after the check
        raise duplicate from None


@transaction.atomic
def domain_remove(*, account: SeatAccount, domain_id: int, actor: User | None) -> None:
    """Unlist a domain of this account (another account's id changes nothing).
    Users who activated through it keep their access."""
    EmailDomain.objects.filter(seat_account=account, pk=domain_id).delete()


# --- IP ranges -------------------------------------------------------------------------


def normalise_cidr(value: str) -> str:
    """The network as stored (host bits cleared), or ValidationError."""
    try:
        network = ipaddress.ip_network((value or "").strip(), strict=False)
    except ValueError:
        raise ValidationError(
            _("Enter a network in CIDR notation, e.g. 203.0.113.0/24 or 2001:db8::/48.")
        ) from None
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise ValidationError(
            _("This range is too wide: at most /%(prefix)d for IPv%(version)d.")
            % {"prefix": MIN_PREFIX[network.version], "version": network.version}
        )
    return network.compressed


@transaction.atomic
def ip_range_add(*, account: SeatAccount, cidr: str, actor: User | None) -> IPRange:
    """List a network whose signed-in users get a seat; ValidationError when refused."""
    cidr = normalise_cidr(cidr)
    duplicate = ValidationError(_("%(cidr)s is already listed.") % {"cidr": cidr})
    if IPRange.objects.filter(seat_account=account, cidr=cidr).exists():
        raise duplicate
    try:
        with transaction.atomic():
            return IPRange.objects.create(seat_account=account, cidr=cidr)
    except IntegrityError:
        raise duplicate from None


@transaction.atomic
def ip_range_remove(*, account: SeatAccount, ip_range_id: int, actor: User | None) -> None:
    IPRange.objects.filter(seat_account=account, pk=ip_range_id).delete()


def _running_accounts() -> Q:
    return ~Q(seat_account__subscription__status=Subscription.Status.ENDED)


def ip_range_accounts_for_address(address: str) -> list[int]:
    """Ids of running seat accounts with a range containing `address` (one query)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return []
    ranges = IPRange.objects.filter(_running_accounts())
    if connection.vendor == "postgresql":
        contains = RawSQL("(cidr::cidr >>= %s::inet)", [str(ip)], output_field=BooleanField())
        return list(
            ranges.alias(contains=contains)
            .filter(contains=True)
            .order_by("seat_account_id")
            .values_list("seat_account_id", flat=True)
            .distinct()
        )
    rows = ranges.order_by("seat_account_id").values_list("seat_account_id", "cidr")
    return sorted({a for a, cidr in rows if ip in ipaddress.ip_network(cidr)})


def ip_activation_for_user(*, user: User, address: str) -> SeatAccount | None:
    """Start a user subscription (via IP range) on the first running account whose
    ranges contain `address` and where the user has no running access and is not the
    main user; the account, or None. A full account is skipped (logged)."""
    for account_id in ip_range_accounts_for_address(address):
        try:
            with transaction.atomic():
                account = (
                    SeatAccount.objects.select_for_update()
                    .select_related("subscription__customer")
                    .get(pk=account_id)
                )
                if account.subscription.customer.main_user_id == user.pk or (
                    _has_running_access(account, user)
                ):
                    continue
                user_subscription_start(account=account, user=user, via=Via.IP_RANGE)
                return account
        except SeatError as error:
            logger.info(
                "IP activation of user %s on account %s refused: %s", user.pk, account_id, error
            )
    return None


def _has_running_access(account: SeatAccount, user: User) -> bool:
    return (
        UserSubscription.objects.filter(seat_account=account, user=user)
        .exclude(state=UserSubscription.State.ENDED)
        .exists()
    )


# --- registration on the landing page with a confirmed address -------------------------


def domain_is_listed(*, account: SeatAccount, email: str) -> bool:
    return EmailDomain.objects.filter(seat_account=account, domain=email_domain(email)).exists()


@dataclass(frozen=True)
class Registration:
    user: User
    created: bool


@transaction.atomic
def domain_registration_start(
    *,
    account: SeatAccount,
    email: str,
    first_name: str,
    last_name: str,
    password: str,
    language: str,
    confirm_url: Callable[[str], str],
) -> Registration:
    """Register on the landing page: refuse an address outside the listed domains
    (ValidationError on `email`, nothing created); else create the user (no customer
    account of their own) unless one exists, and e-mail a link that confirms the
    address (built by `confirm_url(token)`). An existing user's password is left alone:
    the link proves the address, and logging in proves the password."""
    email = normalize_email(email)
    if not domain_is_listed(account=account, email=email):
        raise ValidationError(
            {"email": _("Addresses of this domain cannot activate access to this subscription.")}
        )
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        language = language if language in dict(settings.LANGUAGES) else "en"
        user = User.objects.create_user(
            email=email,
            password=password,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            language=language,
        )
    token = signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(
        {"a": str(account.public_id), "u": user.pk}
    )
    _queue_confirmation_mail(account, user, confirm_url(token))
    return Registration(user=user, created=created)


def _queue_confirmation_mail(account: SeatAccount, user: User, link: str) -> None:
    with translation.override(user.language):
        context = {
            "user": user,
            "link": link,
            "offer": account.subscription.title,
            "merchant": settings.KONTOR_MERCHANT_NAME,
        }
        subject = render_to_string("seats/activation/email/confirm-subject.txt", context)
        body = render_to_string("seats/activation/email/confirm-body.txt", context)
    transaction.on_commit(
        lambda: async_task(
            "seats.services.activation.confirmation_mail_send",
            user.email,
            " ".join(subject.split()),
            body,
        )
    )


def confirmation_mail_send(to: str, subject: str, body: str) -> None:
    """Django-Q2 task: send the rendered confirmation e-mail (never in the request)."""
    send_mail(subject, body, None, [to])


@transaction.atomic
def domain_registration_confirm(*, token: str, now=None) -> tuple[SeatAccount, User]:
    """Open the confirmation link: start the user subscription (via domain).
    ActivationLinkInvalid for a bad or expired link, a second use, or a domain no
    longer listed; SeatsFull when no seat is free. Nothing changes when refused."""
    try:
        data = signing.TimestampSigner(salt=CONFIRM_SALT).unsign_object(
            token, max_age=CONFIRM_MAX_AGE
        )
    except signing.SignatureExpired:
        raise ActivationLinkInvalid("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise ActivationLinkInvalid("invalid") from None
    account = (
        SeatAccount.objects.select_for_update()
        .filter(public_id=data.get("a"))
        .exclude(subscription__status=Subscription.Status.ENDED)
        .first()
    )
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if account is None or user is None:
        raise ActivationLinkInvalid("invalid")
    if _has_running_access(account, user):
        raise ActivationLinkInvalid("used")
    if not domain_is_listed(account=account, email=user.email):
        raise ActivationLinkInvalid("domain")
    user_subscription_start(account=account, user=user, via=Via.DOMAIN, now=now)
    return account, user
