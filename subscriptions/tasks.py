"""Django-Q2 tasks of this app."""

from django.core.mail import EmailMultiAlternatives


def send_email(
    subject: str, body: str, from_email: str | None, to_email: str, html: str | None = None
) -> None:
    """Send one e-mail rendered elsewhere (the password reset); Django-Q2 retries it if
    the provider fails."""
    message = EmailMultiAlternatives(subject, body, from_email, [to_email])
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
