"""Django-Q2 tasks of this app: thin, safe to run twice, each calls one service."""

from django.core.mail import EmailMultiAlternatives

from subscriptions.services.lifecycle import subscriptions_advance


def send_email(
    subject: str, body: str, from_email: str | None, to_email: str, html: str | None = None
) -> None:
    """Send one e-mail rendered elsewhere (the password reset); Django-Q2 retries it if
    the provider fails."""
    message = EmailMultiAlternatives(subject, body, from_email, [to_email])
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def advance_subscriptions() -> dict[str, int]:
    """End subscriptions whose cancellation took effect and renew the others whose
    period is over (every 5 minutes; the database says what is due)."""
    return subscriptions_advance()
