"""Creating and matching customer accounts (and their portal users).

E-mail addresses are compared case-insensitively everywhere (`normalize_email`), so an
account is found by e-mail whatever case a CSV or a form used.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from subscriptions.models import Activity, Customer, User, normalize_email


def _person_name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.email


def _language(language: str) -> str:
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


@transaction.atomic
def customer_create_for_user(*, user: User) -> Customer:
    """The user's customer account: theirs if they have one, else a new person account
    (from their name and e-mail) with them as its main user."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.customer_id is not None:
        return user.customer
    customer = Customer.objects.create(
        kind=Customer.Kind.PERSON,
        name=_person_name(user),
        email=user.email,
        language=_language(user.language),
        main_user=user,
    )
    user.customer = customer
    user.save(update_fields=["customer"])
    return customer


def customer_register(
    *, email: str, first_name: str, last_name: str, password: str, language: str = "en"
) -> User:
    """A new portal user with their own person account (the checkout's "create an
    account"). The caller validates the password. A taken address raises
    ValidationError on `email` and creates nothing, however it shows up: found by the
    model's unique checks, or taken by another request after them and refused by the
    unique index."""
    taken = ValidationError(
        {"email": _("An account with this e-mail already exists; log in instead.")},
        code="unique",
    )
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email,
                password=password,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                language=_language(language),
            )
            customer_create_for_user(user=user)
    except (IntegrityError, ValidationError):
        # The model's checks (field and case-insensitive constraint) and the index each
        # word it their own way; one message for all, and anything else goes up as is.
        if User.objects.filter(email__iexact=normalize_email(email)).exists():
            raise taken from None
        raise
    user.refresh_from_db(fields=["customer"])
    return user


@transaction.atomic
def customer_for_email(
    *, email: str, first_name: str = "", last_name: str = "", language: str = "en"
) -> tuple[Customer, bool]:
    """The customer account for an e-mail address, created when there is none:
    `(customer, created)`. Matched only through the portal user who logs in with that
    address: never through an account's billing e-mail, which the customer sets freely
    on the account page (matching it would let anyone claim the account of whoever is
    imported or buys with that address later). A new account gets a user (without a
    usable password: they set one through "forgot password") as its main user. Names
    and language of an existing account are left as they are."""
    email = normalize_email(email)
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is not None and user.customer_id is not None:
        return user.customer, False
    if user is None:
        user = User.objects.create_user(
            email=email,
            password=None,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            language=_language(language),
        )
    return customer_create_for_user(user=user), True


@transaction.atomic
def customer_create(
    *,
    name: str,
    kind: str = Customer.Kind.PERSON,
    main_user_email: str = "",
    actor: User | None = None,
    **details: str,
) -> Customer:
    """A customer account made by another system (the integration API): the account's
    fields as given and, with `main_user_email`, its main user, found by that address
    or created without a usable password (they set one through "forgot password").
    Raises ValidationError (per field) and creates nothing when a rule refuses: a user
    who already belongs to another account cannot become this one's main user."""
    customer = Customer(kind=kind, name=(name or "").strip(), **{
        field: (value or "").strip() for field, value in details.items()
    })  # fmt: skip
    customer.country = customer.country.upper()
    customer.full_clean()
    user = None
    if main_user_email:
        email = normalize_email(main_user_email)
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        if user is not None and user.customer_id is not None:
            raise ValidationError(
                {"main_user_email": _("This user already belongs to another customer account.")}
            )
        if user is None:
            user = User.objects.create_user(
                email=email, password=None, language=_language(customer.language)
            )
    customer.main_user = user
    customer.save()
    if user is not None:
        user.customer = customer
        user.save(update_fields=["customer"])
    Activity.objects.create(customer=customer, actor=actor, verb="created", message="API")
    return customer
