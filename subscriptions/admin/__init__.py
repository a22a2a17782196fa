"""The merchant backend for users, customers, subscriptions and payment methods: one
module per area."""

from . import coupons, customers, payments, subscriptions, users

__all__ = ["coupons", "customers", "payments", "subscriptions", "users"]
