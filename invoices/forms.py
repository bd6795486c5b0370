"""Forms of the staff pages. They only check the shape of what was typed; the rules (balances, void
invoices, numbers) live in invoices.services, whose errors the views put back on these forms."""

from django import forms
from django.db.models import Q
from django.urls import reverse_lazy
from django.utils import timezone

from catalog.selectors import item_find

from .models import Customer, Invoice, Payment


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "display_name",
            "company",
            "email",
            "phone",
            "billing_line1",
            "billing_line2",
            "billing_city",
            "billing_region",
            "billing_postal_code",
            "billing_country",
            "active",
        ]
        widgets = {"phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})}
        help_texts = {"billing_country": "Two-letter code, e.g. US."}


class CustomerFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Name, company, email, phone", "type": "search"}),
    )
    active = forms.ChoiceField(required=False, choices=[("", "Active and inactive"), ("yes", "Active"), ("no", "Inactive")])

    def active_value(self):
        return {"yes": True, "no": False}.get(self.cleaned_data.get("active") or "")


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(
        required=False, label="Search", widget=forms.TextInput(attrs={"placeholder": "Number or customer", "type": "search"})
    )
    status = forms.ChoiceField(required=False, choices=[("", "All statuses"), *Invoice.Status.choices])


class InvoiceForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), empty_label="Choose a customer")
    number = forms.CharField(required=False, max_length=30, help_text="Leave blank for the next number.")
    issue_date = forms.DateField(required=False, widget=DateInput(), help_text="Blank means today.")
    due_date = forms.DateField(required=False, widget=DateInput(), help_text="Blank means 30 days after the issue date.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, organization, invoice=None, **kwargs):
        super().__init__(*args, **kwargs)
        active = Q(active=True)
        if invoice is not None:
            # An invoice may belong to a customer deactivated since: keep that one choosable.
            active |= Q(pk=invoice.customer_id)
            del self.fields["number"]
        customers = Customer.objects.filter(active, organization=organization)
        self.fields["customer"].queryset = customers.order_by("display_name", "id")


class InvoiceLineForm(forms.Form):
    item = forms.CharField(
        label="Item",
        max_length=300,
        widget=forms.TextInput(
            attrs={
                "list": "item-options",
                "autocomplete": "off",
                "placeholder": "Type a name or code",
                "hx-get": reverse_lazy("item_suggest"),
                "hx-trigger": "input changed delay:200ms, focus",
                "hx-target": "#item-options",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        ),
    )
    description = forms.CharField(required=False, max_length=500, help_text="Blank: the item's description.")
    quantity = forms.DecimalField(
        max_digits=10, decimal_places=2, initial=1, widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})
    )
    unit_price = forms.DecimalField(
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text="Blank: the catalog price.",
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )

    def __init__(self, *args, organization, **kwargs):
        self.organization = organization
        super().__init__(*args, **kwargs)

    def clean_item(self):
        reference = self.cleaned_data["item"]
        item = item_find(organization=self.organization, reference=reference)
        if item is None:
            raise forms.ValidationError(f"There is no item “{reference}” in your catalog. Pick one from the suggestions.")
        return item

    def as_service_line(self):
        data = self.cleaned_data
        return {
            "item": data["item"],
            "description": data.get("description") or "",
            "quantity": data["quantity"],
            "unit_price": data.get("unit_price"),
        }


class BaseLineFormSet(forms.BaseFormSet):
    def service_lines(self):
        """The kept lines as dicts for invoice_create / invoice_update (blank and removed rows dropped)."""
        lines = []
        for index, form in enumerate(self.forms):
            if form.cleaned_data.get("DELETE"):
                continue
            # Saved lines are kept even when untouched; new rows only when something was typed.
            if index < self.initial_form_count() or form.has_changed():
                lines.append(form.as_service_line())
        return lines


LineFormSet = forms.formset_factory(InvoiceLineForm, formset=BaseLineFormSet, extra=1, can_delete=True, max_num=200)


def line_initial(invoice_lines):
    """Formset initial data from an invoice's saved lines."""
    return [
        {
            "item": f"{line.item.code} · {line.item.name}" if line.item.code else line.item.name,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
        }
        for line in invoice_lines
    ]


class PaymentForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"})
    )
    date = forms.DateField(initial=timezone.localdate, widget=DateInput())
    method = forms.ChoiceField(choices=Payment.Method.choices, initial=Payment.Method.CARD)
    reference = forms.CharField(required=False, max_length=100, help_text="Check number, card receipt, transfer id…")
