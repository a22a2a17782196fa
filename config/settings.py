"""Kontor settings.

Every value comes from the environment (or a `.env` file beside manage.py) through
django-environ; `.env.example` documents each variable. Defaults are safe for
production: DEBUG is off and HTTPS is enforced unless the environment says otherwise.
`make demo` sets `DJANGO_DEBUG=true` for the local demo.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# A development key only when DEBUG is on; production must set its own.
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="django-insecure-kontor-development-key-do-not-use-in-production" if DEBUG else "",
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set DJANGO_SECRET_KEY (DJANGO_DEBUG is off).")

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin with Kontor's site: its index is the reports dashboard (issue 12).
    "reports.apps.KontorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "django_htmx",
    "template_partials",
    "import_export",
    "anymail",
    "csp",
    # django-ninja's own Swagger UI files for /api/v1/docs (served locally, no CDN).
    "ninja",
    # Two-factor login for staff (TOTP devices); see security/otp.py.
    "django_otp",
    "django_otp.plugins.otp_totp",
    # django-auditlog's LogEntry table; Kontor's `audit` app says what it records.
    "auditlog",
    # Kontor's domain apps, lowest first (see ARCHITECTURE.md for import rules).
    "notifications",
    # Throttling of guessed secrets and two-factor login (docs/adr/0005-security-app.md).
    "security",
    # The integration API's infrastructure (keys, idempotency); imports no app of ours.
    "api",
    # The audit log's registry, masking and admin (docs/audit.md); imports no app of ours.
    "audit",
    "catalog",
    "coupons",
    "subscriptions",
    "seats",
    "billing",
    # Reports (issue 12): reads every app above, nothing imports it; always last.
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified() (two-factor login), and 429 for throttled attempts.
    "django_otp.middleware.OTPMiddleware",
    "security.middleware.ThrottledMiddleware",
    # The audit log's actor: the signed-in staff member of this request (docs/audit.md).
    "audit.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Idempotency-Key on the API's POSTs (a no-op for every other request).
    "api.middleware.IdempotencyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# SQLite for a quick local demo; PostgreSQL in tests and production.
# An empty DATABASE_URL counts as unset.
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The SQLite demo runs a web server and two task workers on one file: write-ahead
    # logging lets readers and a writer work at once, IMMEDIATE transactions take the
    # write lock up front (no upgrade deadlock), and a writer waits up to 20 s for it
    # instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Everyone (staff and customers) logs in with an e-mail address; see ADR 0001.
AUTH_USER_MODEL = "subscriptions.User"
LOGIN_URL = "subscriptions:login"
LOGIN_REDIRECT_URL = "subscriptions:home"
LOGOUT_REDIRECT_URL = "subscriptions:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Time is UTC inside; periods and pages use the merchant's zone.
USE_TZ = True
TIME_ZONE = env.str("KONTOR_TIME_ZONE", default="Europe/Berlin")

USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")

# E-mail goes through anymail in production (ANYMAIL_ESP=mailgun|postmark|…).
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
ANYMAIL = env.dict("ANYMAIL", default={})
# Seconds before a hung mail server gives up (Django's default is to wait forever, which
# would hold a worker and the message's row lock).
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Kontor <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# HTTPS and cookies: on by default, off only when the environment says so.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Joining the browsers' HSTS preload list is hard to undo and binds every subdomain of the
# merchant's domain, so it is the operator's explicit choice, not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The reports' covering indexes (INCLUDE) are a PostgreSQL feature; the SQLite demo
    # makes them without the extra columns, which is fine for its few rows.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# __Host- cookies are Secure, host-only and Path=/ (no subdomain can set or read them);
# browsers drop them over plain http, so development keeps the plain names.
SESSION_COOKIE_NAME = "__Host-sessionid" if SESSION_COOKIE_SECURE else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if CSRF_COOKIE_SECURE else "csrftoken"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Staff sessions end after a working day (subscriptions/sessions.py); customers keep
# SESSION_COOKIE_AGE.
KONTOR_STAFF_SESSION_SECONDS = env.int("KONTOR_STAFF_SESSION_SECONDS", default=12 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# A strict policy: no inline scripts or styles anywhere (templates use classes only).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Django-Q2: the database (ORM broker) by default, Redis when REDIS_URL is set.
# timeout < retry so a task still running is never handed to a second worker.
Q_CLUSTER = {
    "name": "kontor",
    "workers": env.int("KONTOR_Q_WORKERS", default=2),
    "timeout": env.int("KONTOR_Q_TIMEOUT", default=300),
    "retry": env.int("KONTOR_Q_RETRY", default=360),
    "max_attempts": 5,
    "catch_up": False,
    "save_limit": 1000,
    # PDF rendering (WeasyPrint) grows a worker by 10-15 MB a page: a worker above this
    # many kilobytes is replaced after its task.
    "max_rss": env.int("KONTOR_Q_MAX_RSS_KB", default=400_000),
    "label": _("Task queue"),
}
if env.str("REDIS_URL", default=""):
    Q_CLUSTER["redis"] = env.str("REDIS_URL")
else:
    Q_CLUSTER["orm"] = "default"

# The cache must be shared by web and worker processes: the CSV import's progress is
# written by a worker and read by the page, and the coupon guess throttle must count
# across workers. Redis when REDIS_URL is set (several machines); otherwise files in
# KONTOR_CACHE_DIR (one machine, e.g. `make demo`). Not the database cache: its writes
# would roll back with a refused purchase, and the throttle would forget the guess.
if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("KONTOR_CACHE_DIR", default="") or str(BASE_DIR / ".cache"),
        }
    }

# XLSX cannot hold control characters (a vertical tab pasted into a name): replace them
# (U+FFFD) instead of failing the whole export.
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True

# Kontor's own settings.
KONTOR_MERCHANT_NAME = env.str("KONTOR_MERCHANT_NAME", default="Kontor")
# What invoices print about the merchant (SPEC §4): address lines separated by "|", the
# VAT id, the country (ISO code; reverse charge applies to EU companies elsewhere), the
# bank account for transfers, and the payment term.
KONTOR_MERCHANT_ADDRESS = env.str(
    "KONTOR_MERCHANT_ADDRESS", default="Kontor GmbH|Musterstraße 1|10115 Berlin"
)
KONTOR_MERCHANT_VAT_ID = env.str("KONTOR_MERCHANT_VAT_ID", default="DE123456789")
KONTOR_MERCHANT_COUNTRY = env.str("KONTOR_MERCHANT_COUNTRY", default="DE")
KONTOR_MERCHANT_IBAN = env.str("KONTOR_MERCHANT_IBAN", default="DE89370400440532013000")
KONTOR_MERCHANT_BIC = env.str("KONTOR_MERCHANT_BIC", default="COBADEFFXXX")
KONTOR_MERCHANT_BANK = env.str("KONTOR_MERCHANT_BANK", default="Commerzbank")
KONTOR_PAYMENT_TERMS_DAYS = env.int("KONTOR_PAYMENT_TERMS_DAYS", default=14)
# E-invoices (billing.einvoice, docs/einvoices.md): the seller's address in the parts the
# XML needs (KONTOR_MERCHANT_ADDRESS stays what the PDF prints), the contact XRechnung
# requires, the SEPA creditor id for direct debits, the Factur-X profile embedded in the
# PDF ("en16931" or "extended") and the XRechnung version of the XML download.
KONTOR_MERCHANT_STREET = env.str("KONTOR_MERCHANT_STREET", default="Musterstraße 1")
KONTOR_MERCHANT_POSTAL_CODE = env.str("KONTOR_MERCHANT_POSTAL_CODE", default="10115")
KONTOR_MERCHANT_CITY = env.str("KONTOR_MERCHANT_CITY", default="Berlin")
KONTOR_MERCHANT_CONTACT_NAME = env.str("KONTOR_MERCHANT_CONTACT_NAME", default="Buchhaltung")
KONTOR_MERCHANT_PHONE = env.str("KONTOR_MERCHANT_PHONE", default="+49 30 1234567")
KONTOR_MERCHANT_EMAIL = env.str("KONTOR_MERCHANT_EMAIL", default="billing@kontor.example")
KONTOR_MERCHANT_CREDITOR_ID = env.str("KONTOR_MERCHANT_CREDITOR_ID", default="DE98ZZZ09999999999")
KONTOR_EINVOICE_PROFILE = env.str("KONTOR_EINVOICE_PROFILE", default="en16931")
KONTOR_XRECHNUNG_VERSION = env.str("KONTOR_XRECHNUNG_VERSION", default="3.0")
# The site's public origin (scheme://host[:port], no path): absolute links in e-mails
# (invitations, "user added") are built on it.
KONTOR_PUBLIC_URL = env.str("KONTOR_PUBLIC_URL", default="http://127.0.0.1:8000")
# Callback endpoints must be https and resolve to public addresses; hosts listed here
# are exempt (local receivers in development and tests), e.g. "127.0.0.1,localhost".
KONTOR_CALLBACK_ALLOWED_HOSTS = env.list("KONTOR_CALLBACK_ALLOWED_HOSTS", default=[])
KONTOR_CALLBACK_TIMEOUT_SECONDS = env.float("KONTOR_CALLBACK_TIMEOUT_SECONDS", default=5.0)
# Secrets (issue 10, point 13). Fernet keys that encrypt callback signing secrets at rest:
# the first encrypts, all decrypt (rotate: new key first, `manage.py rotate_encryption_key`,
# then drop the old). Unset, a key is derived from SECRET_KEY: development and tests only,
# `check --deploy` refuses it (kontor.E013).
KONTOR_ENCRYPTION_KEYS = env.list("KONTOR_ENCRYPTION_KEYS", default=[])
# After a rotation the previous callback secret signs too, for this many hours.
KONTOR_CALLBACK_SECRET_GRACE_HOURS = env.float("KONTOR_CALLBACK_SECRET_GRACE_HOURS", default=24)
KONTOR_CURRENCIES = env.list("KONTOR_CURRENCIES", default=["EUR", "USD", "CHF", "GBP"])
KONTOR_DEFAULT_CURRENCY = env.str("KONTOR_DEFAULT_CURRENCY", default="EUR")
# The payment gateway: dotted path of a subscriptions.gateways.PaymentGateway class.
KONTOR_PAYMENT_GATEWAY = env.str(
    "KONTOR_PAYMENT_GATEWAY", default="subscriptions.gateways.sandbox.SandboxGateway"
)

# Seats' activation by IP range: the request.META key holding the client address when a
# reverse proxy of ours sits in front (e.g. "HTTP_X_FORWARDED_FOR"; its right-most
# address, the one our proxy appended, is used). Empty: REMOTE_ADDR. See README.
# The check runs once per session, at login (seats.apps.SeatsConfig.ready connects
# seats.middleware.activate_on_login to user_logged_in), so pages pay no queries for it;
# seats.middleware.IPRangeActivationMiddleware is therefore not in MIDDLEWARE.
KONTOR_TRUSTED_PROXY_HEADER = env.str("KONTOR_TRUSTED_PROXY_HEADER", default="")

# The integration API (docs/api.md): requests per API key ("N/s", "N/m", "N/h"),
# counted in the cache above.
KONTOR_API_RATE_LIMIT = env.str("KONTOR_API_RATE_LIMIT", default="600/m")

# Two-factor login (security/otp.py, docs/security.md): the groups that must use it; the
# TOTP device admin never shows secrets or QR codes (they would let staff clone devices).
KONTOR_OTP_REQUIRED_GROUPS = env.list("KONTOR_OTP_REQUIRED_GROUPS", default=["Administrator"])
OTP_TOTP_ISSUER = KONTOR_MERCHANT_NAME
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# The audit log (docs/audit.md): changes stored as JSON; audit/registry.py says which
# models are recorded and leaves out every field named like a secret. Entries older than
# the retention are deleted by the daily audit.prune task.
AUDITLOG_STORE_JSON_CHANGES = True
KONTOR_AUDIT_RETENTION_DAYS = env.int("KONTOR_AUDIT_RETENTION_DAYS", default=3 * 365)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # WeasyPrint and factur-x narrate every PDF step by step at INFO: only their warnings.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "factur-x": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
