"""JSON API of integrations (DRF). Every query is limited to the user's organizations, so another
organization's ids answer 404."""

from rest_framework import generics

from blueclerk.tenancy import organizations_of

from .models import Connection
from .serializers import ConnectionSerializer


class ConnectionList(generics.ListAPIView):
    """The connections of the user's organizations."""

    serializer_class = ConnectionSerializer

    def get_queryset(self):
        return Connection.objects.filter(organization__in=organizations_of(self.request.user)).order_by("pk")


class ConnectionDetail(generics.RetrieveAPIView):
    """One connection of the user's organizations (another organization's id answers 404)."""

    serializer_class = ConnectionSerializer
    get_queryset = ConnectionList.get_queryset
