from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Customer, Invoice


@login_required
def invoice_list(request):
    invoices = Invoice.objects.filter(organization=request.organization).with_amounts()[:50]
    return render(request, "invoices/invoice_list.html", {"invoices": invoices, "nav": "invoices"})


@login_required
def customer_list(request):
    customers = Customer.objects.filter(organization=request.organization)[:50]
    return render(request, "invoices/customer_list.html", {"customers": customers, "nav": "customers"})


@login_required
def settings_page(request):
    return render(request, "settings.html", {"nav": "settings"})
