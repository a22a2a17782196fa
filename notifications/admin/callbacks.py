"""Callback endpoints (secret shown once, rotate, test ping) and deliveries (attempts, replay)."""
