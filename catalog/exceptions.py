class CatalogError(Exception):
    """A catalog operation that the rules refuse; the message says why."""
