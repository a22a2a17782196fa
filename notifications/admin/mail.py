"""Mail templates (with preview) and the e-mail log."""
