"""Reads scoped to the actor, one module per area."""
