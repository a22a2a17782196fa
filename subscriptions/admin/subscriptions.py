"""Subscriptions: list, detail, creating one for a customer, bulk import."""
