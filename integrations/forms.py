from django import forms


class DisconnectForm(forms.Form):
    forget_records = forms.BooleanField(
        required=False,
        label="Also forget which records were synced (only to connect another company afterwards)",
    )


class ChooseCompanyForm(forms.Form):
    company = forms.ChoiceField(widget=forms.RadioSelect, label="Organization to connect")

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [(c.id, c.name or c.id) for c in choices]
        if choices:
            self.fields["company"].initial = choices[0].id


class DefaultAccountForm(forms.Form):
    default_account = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Default income account")

    def __init__(self, *args, accounts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_account"].choices = [("", "— none —")] + [(a.pk, str(a)) for a in accounts]
