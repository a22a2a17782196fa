"""The billing app's refusals."""


class InvoiceError(Exception):
    """An invoicing or payment operation the rules refuse; nothing changed. str() says
    why."""
