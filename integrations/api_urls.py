from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import api

urlpatterns = [
    path("connections/", api.ConnectionList.as_view(), name="api_connections"),
    path("connections/<int:pk>/", api.ConnectionDetail.as_view(), name="api_connection"),
    path("connections/<int:pk>/sync/", api.ConnectionSync.as_view(), name="api_connection_sync"),
    path("connections/<int:pk>/mappings/", api.MappingList.as_view(), name="api_mappings"),
    path("connections/<int:pk>/mappings/bulk/", api.MappingBulk.as_view(), name="api_mappings_bulk"),
    path("connections/<int:pk>/mappings/<int:item_id>/", api.MappingItem.as_view(), name="api_mapping"),
    path("connections/<int:pk>/items/sync/", api.ItemsSync.as_view(), name="api_items_sync"),
    path("connections/<int:pk>/failures/", api.FailureList.as_view(), name="api_failures"),
    path("connections/<int:pk>/failures/retry/", api.FailureRetry.as_view(), name="api_failures_retry"),
    path("runs/<int:pk>/", api.RunDetail.as_view(), name="api_run"),
    path("invoices/<int:pk>/sync/", api.InvoiceSync.as_view(), name="api_invoice_sync"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
]
