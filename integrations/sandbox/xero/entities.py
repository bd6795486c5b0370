"""Xero Accounting API entities in the sandbox: Items, Contacts, Invoices, Payments, Accounts.

Each `save_<kind>` takes one element as the client sent it and returns the stored element, or raises
XeroInvalid with the element's validation messages. Rules follow ../shared/providers/FACTS.md (Xero):
Item Code required, unique, max 30, Name max 50; Contact Name required, max 255, unique among active
contacts; Invoice InvoiceNumber unique, totals computed, AmountDue/AmountPaid kept by payments;
Payment Amount no more than AmountDue, against an AUTHORISED invoice, into a BANK account.

Concurrency: uniqueness is a database constraint (core.object_create); a payment locks its invoice.
"""

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction

from .. import core
from ..models import SandboxObject

CENT = Decimal("0.01")
DATE_RE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


class XeroInvalid(Exception):
    def __init__(self, *messages):
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def xero_datetime(moment):
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def parse_date(value, field="Date"):
    """A date from "2024-01-31", "2024-01-31T00:00:00" or "/Date(ms+0000)/"."""
    if value in (None, ""):
        return None
    text = str(value)
    match = DATE_RE.fullmatch(text)
    if match:
        return datetime.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=datetime.UTC).date()
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise XeroInvalid(f"{field} '{text}' is not a valid date.") from None


def date_fields(day, name):
    moment = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    return {name: xero_datetime(moment), f"{name}String": f"{day.isoformat()}T00:00:00"}


def decimal(value, field):
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        raise XeroInvalid(f"{field} '{value}' is not a valid number.") from None


def money(value):
    return float(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def render(obj):
    data = {k: v for k, v in obj.data.items() if not k.startswith("_")}
    data["UpdatedDateUTC"] = xero_datetime(obj.updated_at)
    return data


def _account_by_code(company, code):
    if not code:
        return None
    return SandboxObject.objects.filter(company=company, kind="account", alt_key=str(code).lower()).first()


def _lookup(company, kind, id_field, object_id):
    if not object_id:
        return None
    try:
        obj = core.object_get(company=company, kind=kind, object_id=str(object_id).lower())
    except core.NotFound:
        return None
    return obj


# --- Items ------------------------------------------------------------------------------------------


def save_item(company, element, ctx, create_only):
    code = element.get("Code")
    existing = _lookup(company, "item", "ItemID", element.get("ItemID"))
    if existing is None and code:
        existing = core.object_find(company=company, kind="item", alt_key=str(code).strip().lower())
        if existing is not None and create_only:
            raise XeroInvalid(f"Item code '{code}' already exists")
    if element.get("ItemID") and existing is None:
        raise XeroInvalid(f"Item with ItemID '{element['ItemID']}' could not be found")
    data = dict(existing.data) if existing else {"ItemID": None}
    data.update({k: v for k, v in element.items() if k not in ("ItemID", "UpdatedDateUTC", "ValidationErrors")})
    errors = []
    code = data.get("Code")
    if not code:
        errors.append("Item code must be specified")
    elif len(str(code)) > 30:
        errors.append("The Item Code must not be more than 30 characters long.")
    name = data.get("Name")
    if name is not None and len(str(name)) > 50:
        errors.append("The Item Name must not be more than 50 characters long.")
    if ctx.rejects(name) or ctx.rejects(code):
        errors.append(f"The item '{name or code}' is not accepted.")
    for details in ("SalesDetails", "PurchaseDetails"):
        section = data.get(details)
        if isinstance(section, dict):
            section = dict(section)
            if section.get("AccountCode") and _account_by_code(company, section["AccountCode"]) is None:
                errors.append(f"Account code '{section['AccountCode']}' is not a valid code for this document.")
            if "UnitPrice" in section:
                section["UnitPrice"] = float(decimal(section["UnitPrice"], "UnitPrice"))
            data[details] = section
    if errors:
        raise XeroInvalid(*errors)
    data.setdefault("IsSold", bool(data.get("SalesDetails")) or True)
    data.setdefault("IsPurchased", bool(data.get("PurchaseDetails")))
    data.setdefault("IsTrackedAsInventory", False)
    key = str(code).strip().lower()
    try:
        if existing is None:
            obj = core.object_create(company=company, kind="item", data=data, alt_key=key)
            data["ItemID"] = obj.object_id
            obj = core.object_save(obj, data=data, bump=False)
        else:
            obj = core.object_save(existing, data=data, alt_key=key)
    except core.Duplicate:
        raise XeroInvalid(f"Item code '{code}' already exists") from None
    return render(obj)


# --- Contacts ---------------------------------------------------------------------------------------


def save_contact(company, element, ctx, create_only):
    existing = _lookup(company, "contact", "ContactID", element.get("ContactID"))
    if element.get("ContactID") and existing is None:
        raise XeroInvalid(f"Contact with ContactID '{element['ContactID']}' could not be found")
    name = element.get("Name")
    if existing is None and name and not create_only:
        # Xero: POSTing a contact whose Name matches an active contact updates that contact.
        existing = core.object_find(company=company, kind="contact", unique_key=str(name).strip().lower())
    data = dict(existing.data) if existing else {"ContactID": None, "ContactStatus": "ACTIVE"}
    data.update({k: v for k, v in element.items() if k not in ("ContactID", "UpdatedDateUTC", "ValidationErrors")})
    name = data.get("Name")
    errors = []
    if not name or not str(name).strip():
        errors.append("The contact name must be specified.")
    elif len(str(name)) > 255:
        errors.append("The contact name must not be more than 255 characters long.")
    if data.get("ContactNumber") and len(str(data["ContactNumber"])) > 50:
        errors.append("The ContactNumber must not be more than 50 characters long.")
    if name and ctx.rejects(name):
        errors.append(f"The contact name '{name}' is not accepted.")
    status = data.get("ContactStatus") or "ACTIVE"
    if status not in ("ACTIVE", "ARCHIVED", "GDPRREQUEST"):
        errors.append(f"ContactStatus '{status}' is not valid.")
    if errors:
        raise XeroInvalid(*errors)
    data["ContactStatus"] = status
    data.setdefault("IsCustomer", True)
    data.setdefault("IsSupplier", False)
    data.setdefault("Addresses", [])
    data.setdefault("Phones", [])
    key = str(name).strip().lower() if status == "ACTIVE" else None
    duplicate = (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )
    try:
        if existing is None:
            obj = core.object_create(company=company, kind="contact", data=data, unique_key=key)
            data["ContactID"] = obj.object_id
            obj = core.object_save(obj, data=data, bump=False)
        else:
            obj = core.object_save(existing, data=data, unique_key=key, status="active" if status == "ACTIVE" else "archived")
    except core.Duplicate:
        raise XeroInvalid(duplicate) from None
    return render(obj)


# --- Invoices ---------------------------------------------------------------------------------------

STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")


def _contact_of(company, ref):
    if not isinstance(ref, dict):
        return None
    contact = _lookup(company, "contact", "ContactID", ref.get("ContactID"))
    if contact is None and ref.get("Name"):
        contact = core.object_find(company=company, kind="contact", unique_key=str(ref["Name"]).strip().lower())
    return contact


def _lines(company, lines, status, errors):
    out, subtotal = [], Decimal("0")
    for line in lines or []:
        line = dict(line)
        quantity = decimal(line.get("Quantity", 1), "Quantity")
        unit = line.get("UnitAmount")
        item = None
        if line.get("ItemCode"):
            item = core.object_find(company=company, kind="item", alt_key=str(line["ItemCode"]).strip().lower())
            if item is None:
                errors.append(f"Item code '{line['ItemCode']}' is not valid")
                continue
            sales = item.data.get("SalesDetails") or {}
            if unit is None:
                unit = sales.get("UnitPrice", 0)
            line.setdefault("AccountCode", sales.get("AccountCode"))
            line.setdefault("Description", item.data.get("Description") or item.data.get("Name"))
        unit = decimal(unit, "UnitAmount")
        if line.get("AccountCode") and _account_by_code(company, line["AccountCode"]) is None:
            errors.append(f"Account code '{line['AccountCode']}' is not a valid code for this document.")
        elif not line.get("AccountCode") and status not in ("DRAFT",):
            errors.append("Account code must be specified")
        amount = (quantity * unit).quantize(CENT, rounding=ROUND_HALF_UP)
        line.update(
            {
                "Quantity": float(quantity),
                "UnitAmount": float(unit),
                "LineAmount": money(amount),
                "TaxAmount": 0.0,
                "TaxType": line.get("TaxType") or "NONE",
            }
        )
        line.setdefault("LineItemID", str(__import__("uuid").uuid4()))
        out.append(line)
        subtotal += amount
    return out, subtotal


def _next_invoice_number(company):
    highest = 0
    for number in SandboxObject.objects.filter(company=company, kind="invoice").values_list("data__InvoiceNumber", flat=True):
        match = re.fullmatch(r"INV-(\d+)", str(number or ""))
        if match:
            highest = max(highest, int(match.group(1)))
    return f"INV-{highest + 1:04d}"


def save_invoice(company, element, ctx, create_only):
    existing = _lookup(company, "invoice", "InvoiceID", element.get("InvoiceID"))
    if element.get("InvoiceID") and existing is None:
        raise XeroInvalid(f"Invoice with InvoiceID '{element['InvoiceID']}' could not be found")
    if existing is None and element.get("InvoiceNumber") and not create_only:
        existing = core.object_find(company=company, kind="invoice", alt_key=str(element["InvoiceNumber"]).strip().lower())
    if existing is not None:
        current = existing.data.get("Status")
        paid = Decimal(str(existing.data.get("AmountPaid", 0)))
        wanted = element.get("Status", current)
        if current in ("PAID", "VOIDED", "DELETED") or (paid > 0 and set(element) - {"InvoiceID", "Status", "InvoiceNumber"}):
            raise XeroInvalid("Invoice not of valid status for modification")
        if wanted == "VOIDED" and paid > 0:
            raise XeroInvalid("Invoice with payments cannot be voided. Remove the payments first.")
    data = (
        dict(existing.data)
        if existing
        else {"InvoiceID": None, "Type": "ACCREC", "Status": "DRAFT", "LineAmountTypes": "Exclusive"}
    )
    data.update({k: v for k, v in element.items() if k not in ("InvoiceID", "UpdatedDateUTC", "ValidationErrors", "Payments")})
    errors = []
    if data.get("Type") not in ("ACCREC", "ACCPAY"):
        errors.append("Invoice Type must be ACCREC or ACCPAY")
    status = data.get("Status") or "DRAFT"
    if status not in STATUSES or status == "PAID":
        errors.append(f"Status '{status}' is not valid for this operation.")
    contact = _contact_of(company, data.get("Contact"))
    if contact is None:
        errors.append("A Contact must be specified with this type of transaction")
    else:
        data["Contact"] = {"ContactID": contact.object_id, "Name": contact.data.get("Name")}
        if contact.data.get("ContactNumber"):
            data["Contact"]["ContactNumber"] = contact.data["ContactNumber"]
    lines, subtotal = _lines(company, data.get("LineItems"), status, errors)
    if status in ("SUBMITTED", "AUTHORISED") and not lines:
        errors.append("At least one line item must be specified")
    try:
        day = parse_date(data.get("Date"), "Date") or datetime.date.today()
        due = parse_date(data.get("DueDate"), "DueDate")
    except XeroInvalid as exc:
        errors.extend(exc.messages)
        day, due = datetime.date.today(), None
    if status in ("SUBMITTED", "AUTHORISED") and due is None:
        errors.append("Due Date is required.")
    if data.get("InvoiceNumber") and len(str(data["InvoiceNumber"])) > 255:
        errors.append("Invoice number must not be more than 255 characters long.")
    if errors:
        raise XeroInvalid(*errors)
    paid = Decimal(str(data.get("AmountPaid", 0)))
    if status == "VOIDED":
        subtotal = Decimal("0")
    data.update(
        {
            "Status": status,
            "LineItems": lines,
            "SubTotal": money(subtotal),
            "TotalTax": 0.0,
            "Total": money(subtotal),
            "AmountPaid": money(paid),
            "AmountCredited": 0.0,
            "AmountDue": money(subtotal - paid),
            "CurrencyCode": company.currency,
            "CurrencyRate": 1.0,
            "HasAttachments": False,
            "IsDiscounted": False,
            **date_fields(day, "Date"),
        }
    )
    if due is not None:
        data.update(date_fields(due, "DueDate"))
    data.setdefault("Payments", [])
    if not data.get("InvoiceNumber") and data["Type"] == "ACCREC":
        data["InvoiceNumber"] = _next_invoice_number(company)
    key = str(data["InvoiceNumber"]).strip().lower() if data.get("InvoiceNumber") else None
    try:
        if existing is None:
            obj = core.object_create(company=company, kind="invoice", data=data, alt_key=key)
            data["InvoiceID"] = obj.object_id
            obj = core.object_save(obj, data=data, bump=False)
        else:
            obj = core.object_save(existing, data=data, alt_key=key, status="deleted" if status == "DELETED" else "active")
    except core.Duplicate:
        raise XeroInvalid("Invoice # must be unique.") from None
    return render(obj)


# --- Payments ---------------------------------------------------------------------------------------


def save_payment(company, element, ctx, create_only):
    """Create a payment (or, with PaymentID and Status DELETED, delete one)."""
    if element.get("PaymentID"):
        return _delete_payment(company, element)
    errors = []
    ref = element.get("Invoice") or {}
    with transaction.atomic():
        invoice = None
        if ref.get("InvoiceID"):
            invoice = (
                SandboxObject.objects.select_for_update()
                .filter(company=company, kind="invoice", object_id=str(ref["InvoiceID"]).lower())
                .first()
            )
        elif ref.get("InvoiceNumber"):
            invoice = (
                SandboxObject.objects.select_for_update()
                .filter(company=company, kind="invoice", alt_key=str(ref["InvoiceNumber"]).strip().lower())
                .first()
            )
        if invoice is None:
            raise XeroInvalid("You must specify an Invoice, CreditNote, Prepayment or Overpayment for this payment.")
        account_ref = element.get("Account") or {}
        account = None
        if account_ref.get("AccountID"):
            account = _lookup(company, "account", "AccountID", account_ref["AccountID"])
        elif account_ref.get("Code"):
            account = _account_by_code(company, account_ref["Code"])
        if account is None:
            errors.append("You must specify an account for this payment.")
        elif account.data.get("Type") != "BANK" and not account.data.get("EnablePaymentsToAccount"):
            errors.append("Payments can only be made to a bank account or an account with payments enabled.")
        amount = decimal(element.get("Amount"), "Amount")
        due = Decimal(str(invoice.data.get("AmountDue", 0)))
        if invoice.data.get("Status") != "AUTHORISED":
            errors.append("Payment can only be made against an authorised invoice.")
        if amount <= 0:
            errors.append("Payment amount must be greater than zero.")
        elif amount > due:
            errors.append("Payment amount exceeds the amount outstanding on this document")
        try:
            day = parse_date(element.get("Date"), "Date") or datetime.date.today()
        except XeroInvalid as exc:
            errors.extend(exc.messages)
            day = datetime.date.today()
        if errors:
            raise XeroInvalid(*errors)
        data = {
            "PaymentID": None,
            **date_fields(day, "Date"),
            "BankAmount": money(amount),
            "Amount": money(amount),
            "Reference": element.get("Reference", ""),
            "CurrencyRate": 1.0,
            "PaymentType": "ACCRECPAYMENT" if invoice.data.get("Type") == "ACCREC" else "ACCPAYPAYMENT",
            "Status": "AUTHORISED",
            "IsReconciled": bool(element.get("IsReconciled", False)),
            "HasAccount": True,
            "HasValidationErrors": False,
            "Account": {"AccountID": account.object_id, "Code": account.data.get("Code")},
            "Invoice": {
                "InvoiceID": invoice.object_id,
                "InvoiceNumber": invoice.data.get("InvoiceNumber"),
                "Type": invoice.data.get("Type"),
                "Contact": invoice.data.get("Contact"),
            },
        }
        obj = core.object_create(company=company, kind="payment", data=data)
        data["PaymentID"] = obj.object_id
        obj = core.object_save(obj, data=data, bump=False)
        _move_invoice(invoice, amount, obj)
    return render(obj)


def _move_invoice(invoice, amount, payment, remove=False):
    data = dict(invoice.data)
    paid = Decimal(str(data.get("AmountPaid", 0))) + (-amount if remove else amount)
    total = Decimal(str(data.get("Total", 0)))
    data["AmountPaid"] = money(paid)
    data["AmountDue"] = money(total - paid)
    data["Status"] = "PAID" if total - paid <= 0 and total > 0 else "AUTHORISED"
    payments = [p for p in data.get("Payments", []) if p.get("PaymentID") != payment.object_id]
    if not remove:
        payments.append(
            {
                "PaymentID": payment.object_id,
                "Date": payment.data.get("Date"),
                "Amount": money(amount),
                "Reference": payment.data.get("Reference", ""),
            }
        )
    data["Payments"] = payments
    if data["Status"] == "PAID":
        data["FullyPaidOnDate"] = payment.data.get("Date")
    else:
        data.pop("FullyPaidOnDate", None)
    core.object_save(invoice, data=data)


def _delete_payment(company, element):
    if element.get("Status") != "DELETED":
        raise XeroInvalid("A payment can only be deleted (Status DELETED), not changed.")
    with transaction.atomic():
        payment = _lookup(company, "payment", "PaymentID", element["PaymentID"])
        if payment is None or payment.status == "deleted":
            raise XeroInvalid(f"Payment with PaymentID '{element['PaymentID']}' could not be found")
        invoice = SandboxObject.objects.select_for_update().get(
            company=company, kind="invoice", object_id=payment.data["Invoice"]["InvoiceID"]
        )
        _move_invoice(invoice, Decimal(str(payment.data["Amount"])), payment, remove=True)
        data = {**payment.data, "Status": "DELETED"}
        payment = core.object_save(payment, data=data, status="deleted")
    return render(payment)


# --- Accounts ---------------------------------------------------------------------------------------

ACCOUNT_CLASS = {
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "EXPENSE": "EXPENSE",
}


def account_data(name, code, account_type):
    data = {
        "AccountID": None,
        "Code": code,
        "Name": name,
        "Status": "ACTIVE",
        "Type": account_type,
        "TaxType": "NONE" if account_type == "BANK" else "OUTPUT",
        "Class": ACCOUNT_CLASS.get(account_type, "ASSET"),
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "ReportingCode": "REV.TRA" if account_type in ("REVENUE", "SALES") else "ASS",
        "HasAttachments": False,
        "AddToWatchlist": False,
    }
    if account_type == "BANK":
        data.update({"BankAccountNumber": "121212345678", "BankAccountType": "BANK", "CurrencyCode": "USD"})
    return data
