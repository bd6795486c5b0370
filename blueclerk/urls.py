from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/integrations/", include("integrations.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("catalog/", include("catalog.urls")),
    path("webhooks/", include("integrations.webhook_urls")),
    path("api/", include("integrations.api_urls")),
    path("", include("invoices.urls")),
]

if settings.PROVIDER_SANDBOX:
    urlpatterns.append(path("sandbox/", include("integrations.sandbox.urls")))
