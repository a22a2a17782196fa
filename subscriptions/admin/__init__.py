"""The merchant backend for users, customers, subscriptions and payment methods: one
module per area."""

from . import customers, payments, subscriptions, users

__all__ = ["customers", "payments", "subscriptions", "users"]
