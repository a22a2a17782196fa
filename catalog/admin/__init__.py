"""The merchant backend for the catalog: one module per family of models."""

from . import corporate, offers, products

__all__ = ["corporate", "offers", "products"]
