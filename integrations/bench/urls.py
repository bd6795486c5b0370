"""The benchmark server's URLs: the sandbox only (no staff pages), so the server does not depend on
the rest of the site."""

from django.urls import include, path

urlpatterns = [path("sandbox/", include("integrations.sandbox.urls"))]
