"""QuickBooks data API paths, included under /sandbox/quickbooks/ (the real paths under the API base)."""

from django.urls import path

from . import views

company = "v3/company/<str:realm_id>"

urlpatterns = [
    path(".well-known/openid_configuration", views.discovery, name="sandbox-quickbooks-discovery"),
    path(f"{company}/batch", views.batch, name="sandbox-quickbooks-batch"),
    path(f"{company}/query", views.query_view, name="sandbox-quickbooks-query"),
    path(f"{company}/cdc", views.cdc, name="sandbox-quickbooks-cdc"),
    path(f"{company}/companyinfo/<str:object_id>", views.company_info, name="sandbox-quickbooks-companyinfo"),
    path(f"{company}/<str:entity>/<str:object_id>", views.entity_detail, name="sandbox-quickbooks-entity"),
    path(f"{company}/<str:entity>", views.entity_collection, name="sandbox-quickbooks-entities"),
]
