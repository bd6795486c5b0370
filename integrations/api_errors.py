"""The JSON API's exception handler: ReconnectRequired becomes 401 with the friendly message.

{"detail": "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks.",
 "code": "reconnect_required"}. Django's PermissionDenied with a message (blueclerk.tenancy.require_manager)
is 403 with that message. Everything else is DRF's default handling.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .providers.base import ReconnectRequired


def exception_handler(exc, context):
    if isinstance(exc, ReconnectRequired):
        return Response({"detail": exc.message, "code": "reconnect_required"}, status=status.HTTP_401_UNAUTHORIZED)
    if isinstance(exc, DjangoPermissionDenied) and exc.args:
        # DRF would answer its generic sentence; the refusal's own (blueclerk.tenancy) says who may.
        exc = PermissionDenied(str(exc))
    return drf_exception_handler(exc, context)
