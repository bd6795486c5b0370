"""Mounted at /webhooks/ (blueclerk/urls.py). Register these URLs with the providers:
/webhooks/quickbooks/, /webhooks/xero/, /webhooks/freshbooks/."""

from django.urls import path

from .webhook_views import webhook_receive

app_name = "webhooks"

urlpatterns = [
    path("<str:provider>/", webhook_receive, name="receive"),
]
