"""The JSON API's exception handler: ReconnectRequired becomes 401 with the friendly message.

{"detail": "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks.",
 "code": "reconnect_required"}. Everything else is DRF's default handling.
"""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .providers.base import ReconnectRequired


def exception_handler(exc, context):
    if isinstance(exc, ReconnectRequired):
        return Response({"detail": exc.message, "code": "reconnect_required"}, status=status.HTTP_401_UNAUTHORIZED)
    return drf_exception_handler(exc, context)
