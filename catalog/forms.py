from django import forms

from .models import Item


class ItemForm(forms.ModelForm):
    """Fields of an item. Saving goes through catalog.services (which also checks name/code clashes)."""

    class Meta:
        model = Item
        fields = ["name", "code", "kind", "unit_price", "description", "active"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "unit_price": forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
        }
        help_texts = {"code": "Optional. Unique within your catalog."}


class ItemFilterForm(forms.Form):
    q = forms.CharField(
        required=False, label="Search", widget=forms.TextInput(attrs={"placeholder": "Name or code", "type": "search"})
    )
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *Item.Kind.choices])
    active = forms.ChoiceField(required=False, choices=[("", "Active and inactive"), ("yes", "Active"), ("no", "Inactive")])

    def active_value(self):
        return {"yes": True, "no": False}.get(self.cleaned_data.get("active") or "")
