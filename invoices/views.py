"""Staff pages of customers, invoices and payments.

Thin: reads through selectors, every write through invoices.services. A service's ValidationError is
shown in place (on the form, or as a message for the one-button actions) and changes nothing, because
each service is atomic. Objects are looked up within request.organization, so another organization's
invoice or customer answers 404.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from blueclerk.views import apply_service_errors, organization_required, paginate

from . import selectors, services
from .forms import (
    CustomerFilterForm,
    CustomerForm,
    InvoiceFilterForm,
    InvoiceForm,
    LineFormSet,
    PaymentForm,
    line_initial,
)

# Customers -------------------------------------------------------------------------------------------


@organization_required
def customer_list(request):
    filters = CustomerFilterForm(request.GET)
    filters.is_valid()
    customers = selectors.customer_list(
        organization=request.organization, query=filters.cleaned_data.get("q", ""), active=filters.active_value()
    )
    page, querystring = paginate(request, customers)
    return render(
        request, "invoices/customer_list.html", {"nav": "customers", "filters": filters, "page": page, "querystring": querystring}
    )


@organization_required
def customer_detail(request, pk):
    customer = selectors.customer_get(organization=request.organization, pk=pk)
    invoices = selectors.invoice_list(organization=request.organization, customer=customer)
    page, querystring = paginate(request, invoices)
    return render(
        request,
        "invoices/customer_detail.html",
        {"nav": "customers", "customer": customer, "page": page, "querystring": querystring},
    )


@organization_required
def customer_create(request):
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(organization=request.organization, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Customer “{customer.display_name}” added.")
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "invoices/customer_form.html", {"nav": "customers", "form": form})


@organization_required
def customer_edit(request, pk):
    customer = selectors.customer_get(organization=request.organization, pk=pk)
    form = CustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_update(customer=customer, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Customer “{customer.display_name}” saved.")
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "invoices/customer_form.html", {"nav": "customers", "form": form, "customer": customer})


# Invoices --------------------------------------------------------------------------------------------


@organization_required
def invoice_list(request):
    filters = InvoiceFilterForm(request.GET)
    filters.is_valid()
    invoices = selectors.invoice_list(
        organization=request.organization, query=filters.cleaned_data.get("q", ""), status=filters.cleaned_data.get("status", "")
    )
    page, querystring = paginate(request, invoices)
    return render(
        request, "invoices/invoice_list.html", {"nav": "invoices", "filters": filters, "page": page, "querystring": querystring}
    )


def _render_detail(request, invoice, payment_form=None, status=200):
    context = {
        "nav": "invoices",
        "invoice": invoice,
        "lines": selectors.invoice_lines(invoice=invoice),
        "payments": selectors.invoice_payments(invoice=invoice),
        "payment_form": payment_form or PaymentForm(initial={"amount": invoice.balance}),
    }
    return render(request, "invoices/invoice_detail.html", context, status=status)


@organization_required
def invoice_detail(request, pk):
    invoice = selectors.invoice_get(organization=request.organization, pk=pk)
    return _render_detail(request, invoice)


def _invoice_form_page(request, invoice=None):
    """Create (invoice=None) or edit an invoice with its lines; both go through the services."""
    organization = request.organization
    line_errors = {}
    if invoice is None:
        initial = {}
        if request.GET.get("customer", "").isdigit():
            initial["customer"] = request.GET["customer"]
        form = InvoiceForm(request.POST or None, organization=organization, initial=initial)
        lines = LineFormSet(request.POST or None, prefix="lines", form_kwargs={"organization": organization})
    else:
        form = InvoiceForm(
            request.POST or None,
            organization=organization,
            invoice=invoice,
            initial={
                "customer": invoice.customer_id,
                "issue_date": invoice.issue_date,
                "due_date": invoice.due_date,
                "notes": invoice.notes,
            },
        )
        lines = LineFormSet(
            request.POST or None,
            prefix="lines",
            form_kwargs={"organization": organization},
            initial=line_initial(selectors.invoice_lines(invoice=invoice)),
        )
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            if invoice is None:
                invoice = services.invoice_create(
                    organization=organization,
                    customer=data["customer"],
                    lines=lines.service_lines(),
                    issue_date=data["issue_date"],
                    due_date=data["due_date"],
                    notes=data["notes"],
                    number=data["number"] or None,
                )
                messages.success(request, f"Invoice {invoice.number} created.")
            else:
                invoice = services.invoice_update(
                    invoice=invoice,
                    customer=data["customer"],
                    lines=lines.service_lines(),
                    issue_date=data["issue_date"] or invoice.issue_date,
                    due_date=data["due_date"] or invoice.due_date,
                    notes=data["notes"],
                )
                messages.success(request, f"Invoice {invoice.number} saved.")
        except ValidationError as error:
            apply_service_errors(form, error, extra_errors=line_errors)
        else:
            return redirect("invoice_detail", pk=invoice.pk)
    context = {
        "nav": "invoices",
        "form": form,
        "lines": lines,
        "line_errors": [m for messages_ in line_errors.values() for m in messages_],
        "invoice": invoice,
    }
    return render(request, "invoices/invoice_form.html", context)


@organization_required
def invoice_create(request):
    return _invoice_form_page(request)


@organization_required
def invoice_edit(request, pk):
    invoice = selectors.invoice_get(organization=request.organization, pk=pk)
    if invoice.status == invoice.Status.VOID:
        messages.error(request, f"Invoice {invoice.number} is void and cannot be changed.")
        return redirect("invoice_detail", pk=invoice.pk)
    return _invoice_form_page(request, invoice)


def _invoice_action(request, pk, action, done):
    invoice = selectors.invoice_get(organization=request.organization, pk=pk)
    try:
        action(invoice=invoice)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done.format(number=invoice.number))
    return redirect("invoice_detail", pk=invoice.pk)


@require_POST
@organization_required
def invoice_mark_sent(request, pk):
    return _invoice_action(request, pk, services.invoice_mark_sent, "Invoice {number} marked sent.")


@require_POST
@organization_required
def invoice_mark_paid(request, pk):
    return _invoice_action(request, pk, services.invoice_mark_paid, "Invoice {number} marked paid.")


@require_POST
@organization_required
def invoice_void(request, pk):
    return _invoice_action(request, pk, services.invoice_void, "Invoice {number} voided.")


@require_POST
@organization_required
def payment_create(request, pk):
    """Record a payment from the invoice page; errors come back on the same page, beside the form."""
    invoice = selectors.invoice_get(organization=request.organization, pk=pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            payment = services.payment_record(invoice=invoice, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, f"Payment of {payment.amount} {request.organization.currency} recorded on {invoice.number}."
            )
            return redirect("invoice_detail", pk=invoice.pk)
    return _render_detail(request, invoice, payment_form=form, status=200)
