from django.urls import path

from . import views

app_name = "sandbox_wave"

urlpatterns = [
    path("graphql/public", views.graphql_public, name="graphql"),
]
