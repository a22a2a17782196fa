"""Payment methods on file."""
