from django.urls import path

from . import views

urlpatterns = [
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("customers/", views.customer_list, name="customer_list"),
    path("settings/", views.settings_page, name="settings"),
]
