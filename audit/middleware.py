"""The audit log's actor and address for each request."""

from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware

from security.throttle import client_address


class AuditActorMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware (the signed-in user becomes the actor of every change
    the request makes, services included), with the client address taken the way the
    rest of Kontor takes it: REMOTE_ADDR, or the right-most address of
    KONTOR_TRUSTED_PROXY_HEADER. The stock one believes the left-most X-Forwarded-For
    entry, which any client can write.

    The stock one also leaves its context variable set after the response, so a later
    request or task in the same thread would find the previous actor in it
    (audit.recorder reads it); it is restored to what it was before the request."""

    def __call__(self, request):
        token = auditlog_value.set({})
        try:
            return super().__call__(request)
        finally:
            auditlog_value.reset(token)

    @staticmethod
    def _get_remote_addr(request):
        return client_address(request)

    @staticmethod
    def _get_remote_port(request):
        return None
