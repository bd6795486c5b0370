"""Settings → Integrations, mounted at settings/integrations/ (namespace "integrations")."""

from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("", views.index, name="index"),
    path("<str:provider>/connect/", views.connect, name="connect"),
    path("<str:provider>/callback/", views.callback, name="callback"),
    path("<str:provider>/choose/", views.choose, name="choose"),
    path("<str:provider>/disconnect/", views.disconnect, name="disconnect"),
    path("<str:provider>/wizard/", views.wizard, name="wizard"),
    path("<str:provider>/mapping/", views.mapping, name="mapping"),
    path("<str:provider>/mapping/<int:item_id>/", views.mapping_item, name="mapping_item"),
]
