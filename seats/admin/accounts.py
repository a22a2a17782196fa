"""Multi-user accounts: seats, invitations, domains, IP ranges, settings, log."""
