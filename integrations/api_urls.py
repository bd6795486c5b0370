from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import api

urlpatterns = [
    path("connections/", api.ConnectionList.as_view(), name="api_connections"),
    path("connections/<int:pk>/", api.ConnectionDetail.as_view(), name="api_connection"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
]
