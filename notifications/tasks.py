"""Django-Q2 tasks: thin, idempotent, each calls one service. The database records what
is due; a task only wakes a worker to do it sooner than the sweep would."""

from .services import event_dispatch, notifications_sweep
from .services.callbacks import callback_delivery_send
from .services.mail import mail_message_send


def dispatch_event(event_id: int) -> bool:
    return event_dispatch(event_id=event_id)


def send_mail_message(message_id: int) -> None:
    mail_message_send(message_id=message_id)


def deliver_callback(delivery_id: int) -> None:
    callback_delivery_send(delivery_id=delivery_id)


def sweep() -> dict[str, int]:
    return notifications_sweep()
