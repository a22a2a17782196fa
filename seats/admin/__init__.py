"""The merchant backend for seats: one module per area."""

from . import accounts

__all__ = ["accounts"]
