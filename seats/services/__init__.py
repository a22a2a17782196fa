"""Seat operations, one module per area."""
