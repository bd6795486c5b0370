"""Xero paths, included under /sandbox/xero/ (the API base; Identity's connections at its root)."""

from django.urls import path

from . import views

urlpatterns = [
    path("connections", views.connections, name="sandbox-xero-connections"),
    path("Connections", views.connections),
    path("connections/<str:connection_id>", views.connection_delete, name="sandbox-xero-connection"),
    path("api.xro/2.0/Organisation", views.organisation, name="sandbox-xero-organisation"),
    path("api.xro/2.0/<str:collection>", views.collection, name="sandbox-xero-collection"),
    path("api.xro/2.0/<str:collection>/<str:object_id>", views.collection, name="sandbox-xero-element"),
]
