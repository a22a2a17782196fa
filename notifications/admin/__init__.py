"""The merchant backend for notifications: one module per area."""

from . import callbacks, events, mail

__all__ = ["callbacks", "events", "mail"]
