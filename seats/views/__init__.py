"""Pages of the seats app, one module per area."""
