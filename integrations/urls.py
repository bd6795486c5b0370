"""Settings → Integrations, mounted at settings/integrations/ (namespace "integrations")."""

from django.urls import path

from . import views, views_invoice, views_mapping, views_notifications, views_runs

app_name = "integrations"

urlpatterns = [
    path("", views.index, name="index"),
    path("<str:provider>/connect/", views.connect, name="connect"),
    path("<str:provider>/callback/", views.callback, name="callback"),
    path("<str:provider>/choose/", views.choose, name="choose"),
    path("<str:provider>/disconnect/", views.disconnect, name="disconnect"),
    path("<str:provider>/wizard/", views.wizard, name="wizard"),
    path("<str:provider>/mapping/", views_mapping.mapping, name="mapping"),
    path("<str:provider>/mapping/bulk/", views_mapping.mapping_bulk, name="mapping_bulk"),
    path("<str:provider>/mapping/<int:item_id>/", views_mapping.mapping_item, name="mapping_item"),
    path("notifications/", views_notifications.notification_list, name="notifications"),
    path("notifications/read/", views_notifications.notifications_mark_read, name="notifications_read"),
    path("<str:provider>/sync/", views_runs.sync_now, name="sync_now"),
    path("<str:provider>/sync/panel/", views_runs.sync_panel, name="sync_panel"),
    path("<str:provider>/sync/runs/<int:run_id>/", views_runs.run_progress, name="run_progress"),
    path("<str:provider>/sync/retry/", views_runs.retry, name="retry"),
    path("<str:provider>/deposit-account/", views_runs.deposit_account, name="deposit_account"),
    path("invoices/<int:invoice_id>/", views_invoice.invoice_panel, name="invoice_panel"),
    path("<str:provider>/invoices/<int:invoice_id>/sync/", views_invoice.invoice_sync, name="invoice_sync"),
]
