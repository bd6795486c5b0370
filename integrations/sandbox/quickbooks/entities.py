"""QuickBooks Online v3 entities in the sandbox: Item, Customer, Invoice, Payment, Account, CompanyInfo.

Each operation returns the entity's JSON or raises QBFault with Intuit's code. Rules follow
../shared/providers/QUICKBOOKS.md: names unique (6240; customers share one name space with vendors and
employees), no ':' tab or newline in names (2040), length limits (2050; Item Name 100, DisplayName 500),
SyncToken checked on update (5010), missing objects 610, missing required fields 2020, bad references
2500, duplicate DocNumber 6140, business rules 6000 (a payment above the open balance).

Concurrency: a payment locks the invoices it applies to (select_for_update) so two payments cannot
both take the same open balance; names are unique by database constraint (core.object_create).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from .. import core
from ..models import SandboxObject

# URL / batch entity names -> sandbox kinds
KINDS = {"Item": "item", "Customer": "customer", "Invoice": "invoice", "Payment": "payment", "Account": "account"}
ENTITY_BY_KIND = {kind: entity for entity, kind in KINDS.items()}
NAME_FIELD = {"Item": "Name", "Customer": "DisplayName", "Account": "Name"}
NAME_LIMIT = {"Item": 100, "Customer": 500, "Account": 100}
NAME_SCOPE = {"Item": "item", "Customer": "name", "Account": "account"}
PACIFIC = datetime.timezone(datetime.timedelta(hours=-7))
CENT = Decimal("0.01")
READ_ONLY = ("Id", "SyncToken", "MetaData", "domain", "sparse", "time")


class QBFault(Exception):
    """A QuickBooks validation fault: answered as {"Fault": {"Error": [...], "type": ...}}."""

    def __init__(self, code, message, detail, element="", fault_type="ValidationFault"):
        super().__init__(f"{code} {detail}")
        self.code = str(code)
        self.message = message
        self.detail = detail
        self.element = element
        self.fault_type = fault_type

    def body(self):
        return {
            "Error": [{"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}],
            "type": self.fault_type,
        }


def required(field):
    return QBFault(
        2020,
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {field} is missing in the request",
        field,
    )


def not_found(entity, object_id):
    return QBFault(
        610,
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. Check the fields with "
        f"accounts, customers, items, vendors or employees. ({entity} Id={object_id})",
    )


def invalid_reference(entity, object_id):
    return QBFault(2500, "Invalid Reference Id", f"Invalid Reference Id : {entity} element id {object_id} not found")


def business(detail, element=""):
    return QBFault(
        6000,
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def stale(object_id):
    return QBFault(
        5010,
        "Stale Object Error",
        f"Stale Object Error : You and sandbox-bookkeeper were working on this at the same time. "
        f"sandbox-bookkeeper finished before you did, so your work was not saved. (Id={object_id})",
    )


def qb_datetime(moment):
    return moment.astimezone(PACIFIC).isoformat(timespec="seconds")


def money(value, field="Amount"):
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        raise QBFault(2090, "Invalid Number", f"Invalid Number : {field} {value!r} is not a number", field) from None
    return amount


def number(value):
    """A Decimal as QuickBooks' JSON writes it (a number)."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def render(obj):
    """The entity's JSON as QuickBooks answers it."""
    data = dict(obj.data)
    data.update(
        {
            "domain": "QBO",
            "sparse": False,
            "Id": obj.object_id,
            "SyncToken": str(obj.version),
            "MetaData": {"CreateTime": qb_datetime(obj.created_at), "LastUpdatedTime": qb_datetime(obj.updated_at)},
        }
    )
    return data


def ref_value(ref):
    if isinstance(ref, dict):
        return ref.get("value")
    return ref


def _check_name(entity, name, ctx):
    field = NAME_FIELD[entity]
    if name is None or str(name).strip() == "":
        raise required(field)
    name = str(name)
    if any(ch in name for ch in ":\t\n\r"):
        raise QBFault(
            2040,
            "Invalid String",
            f"String contains invalid character(s) ':', tab or newline in {field}: {name!r}",
            field,
        )
    limit = NAME_LIMIT[entity]
    if len(name) > limit:
        raise QBFault(
            2050,
            "String length is either shorter or longer than supported by specification",
            f"String length specified does not match the supported length. Min:1 Max:{limit} supplied length:{len(name)}",
            field,
        )
    if ctx is not None and ctx.rejects(name):
        raise business(f"The {field} '{name}' is not accepted.", field)
    return name


def _duplicate_name(existing):
    suffix = f" : Id={existing.object_id}" if existing is not None else ""
    return QBFault(6240, "Duplicate Name Exists Error", f"The name supplied already exists.{suffix}", "Name")


def _get(company, entity, object_id):
    try:
        return core.object_get(company=company, kind=KINDS[entity], object_id=str(object_id))
    except core.NotFound:
        raise not_found(entity, object_id) from None


def _ref(company, entity, ref, field):
    value = ref_value(ref)
    if value in (None, ""):
        raise required(field)
    try:
        obj = core.object_get(company=company, kind=KINDS[entity], object_id=str(value))
    except core.NotFound:
        raise invalid_reference(entity, value) from None
    if obj.status == "deleted":
        raise invalid_reference(entity, value)
    return obj


def _cached_ref(ctx, company, entity, ref, field):
    """_ref, remembered for the rest of the request (a batch names the same account thirty times)."""
    if ctx is None:
        return _ref(company, entity, ref, field)
    key = ("ref", entity, str(ref_value(ref)))
    if key not in ctx.cache:
        ctx.cache[key] = _ref(company, entity, ref, field)
    return ctx.cache[key]


def _writable(body):
    return {k: v for k, v in body.items() if k not in READ_ONLY}


# --- Item -------------------------------------------------------------------------------------------


def _item_data(company, body, ctx):
    name = _check_name("Item", body.get("Name"), ctx)
    data = {
        "Name": name,
        "FullyQualifiedName": name,
        "Active": body.get("Active", True),
        "Type": body.get("Type") or "Service",
        "Taxable": body.get("Taxable", False),
        "UnitPrice": number(money(body.get("UnitPrice", 0), "UnitPrice")),
        "PurchaseCost": number(money(body.get("PurchaseCost", 0), "PurchaseCost")),
        "TrackQtyOnHand": body.get("TrackQtyOnHand", False),
    }
    for field in ("Description", "Sku", "PurchaseDesc", "SubItem", "ParentRef", "Level"):
        if field in body:
            data[field] = body[field]
    if data["Type"] not in ("Service", "NonInventory", "Inventory", "Group", "Category"):
        raise QBFault(
            2010, "Request has invalid or unsupported property", f"Property Type has an invalid value {data['Type']!r}", "Type"
        )
    if data["Type"] in ("Service", "NonInventory", "Inventory"):
        if not body.get("IncomeAccountRef"):
            raise business("Income account is required for an item of this type.", "IncomeAccountRef")
        account = _cached_ref(ctx, company, "Account", body["IncomeAccountRef"], "IncomeAccountRef")
        data["IncomeAccountRef"] = {"value": account.object_id, "name": account.data.get("Name")}
    for field in ("ExpenseAccountRef", "AssetAccountRef"):
        if body.get(field):
            account = _ref(company, "Account", body[field], field)
            data[field] = {"value": account.object_id, "name": account.data.get("Name")}
    return data


# --- Customer ---------------------------------------------------------------------------------------


def _customer_data(company, body, ctx):
    display = body.get("DisplayName")
    if not display:
        parts = [body.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix") if body.get(k)]
        display = " ".join(parts) or body.get("CompanyName")
    display = _check_name("Customer", display, ctx)
    data = {
        "DisplayName": display,
        "FullyQualifiedName": display,
        "PrintOnCheckName": body.get("PrintOnCheckName") or body.get("CompanyName") or display,
        "Active": body.get("Active", True),
        "Taxable": body.get("Taxable", False),
        "Job": False,
        "BillWithParent": False,
        "Balance": 0,
        "BalanceWithJobs": 0,
        "CurrencyRef": {
            "value": company.currency,
            "name": "United States Dollar" if company.currency == "USD" else company.currency,
        },
        "PreferredDeliveryMethod": body.get("PreferredDeliveryMethod", "Print"),
    }
    for field in (
        "Title",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "Suffix",
        "CompanyName",
        "PrimaryEmailAddr",
        "PrimaryPhone",
        "Mobile",
        "BillAddr",
        "ShipAddr",
        "Notes",
        "WebAddr",
    ):
        if field in body:
            data[field] = body[field]
    return data


# --- Invoice ----------------------------------------------------------------------------------------


def _invoice_lines(company, lines):
    if not lines:
        raise required("Line")
    result, total = [], Decimal("0")
    for number_, line in enumerate(lines, start=1):
        detail_type = line.get("DetailType")
        if detail_type in ("SubTotalLineDetail",):
            continue
        if detail_type not in ("SalesItemLineDetail", "DescriptionOnly", "DiscountLineDetail"):
            raise required("Line.DetailType")
        out = {"Id": str(number_), "LineNum": number_, "DetailType": detail_type}
        if "Description" in line:
            out["Description"] = line["Description"]
        if detail_type == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            item = _ref(company, "Item", detail.get("ItemRef"), "Line.SalesItemLineDetail.ItemRef")
            qty = Decimal(str(detail.get("Qty", 1)))
            price = (
                money(detail.get("UnitPrice", item.data.get("UnitPrice", 0)), "UnitPrice")
                if "UnitPrice" in detail or "Amount" not in line
                else None
            )
            amount = money(line["Amount"]) if "Amount" in line else (qty * price).quantize(CENT, rounding=ROUND_HALF_UP)
            if price is None:
                price = (amount / qty).quantize(CENT) if qty else Decimal("0")
            if (qty * price).quantize(CENT, rounding=ROUND_HALF_UP) != amount:
                raise QBFault(
                    6070,
                    "A business validation error has occurred while processing your request",
                    f"Business Validation Error: Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                    "Line.Amount",
                )
            out["Amount"] = number(amount)
            out["SalesItemLineDetail"] = {
                "ItemRef": {"value": item.object_id, "name": item.data.get("Name")},
                "UnitPrice": number(price),
                "Qty": number(qty),
                "TaxCodeRef": detail.get("TaxCodeRef") or {"value": "NON"},
            }
            if item.data.get("IncomeAccountRef"):
                out["SalesItemLineDetail"]["ItemAccountRef"] = item.data["IncomeAccountRef"]
            for field in ("ServiceDate",):
                if field in detail:
                    out["SalesItemLineDetail"][field] = detail[field]
            total += amount
        elif detail_type == "DiscountLineDetail":
            amount = money(line.get("Amount", 0))
            out["Amount"] = number(amount)
            out["DiscountLineDetail"] = line.get("DiscountLineDetail") or {}
            total -= amount
        else:
            out["Amount"] = 0
            out["DescriptionLineDetail"] = line.get("DescriptionLineDetail") or {}
        result.append(out)
    subtotal = sum((Decimal(str(line["Amount"])) for line in result if line["DetailType"] == "SalesItemLineDetail"), Decimal("0"))
    result.append({"Amount": number(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    return result, total


def _paid_on(invoice):
    return sum((Decimal(str(p["Amount"])) for p in invoice.data.get("_payments", {}).values()), Decimal("0"))


def _invoice_data(company, body, previous=None):
    customer = _ref(company, "Customer", body.get("CustomerRef"), "CustomerRef")
    lines, total = _invoice_lines(company, body.get("Line"))
    today = timezone.now().astimezone(PACIFIC).date()
    txn_date = body.get("TxnDate") or today.isoformat()
    try:
        due = body.get("DueDate") or (datetime.date.fromisoformat(txn_date) + datetime.timedelta(days=30)).isoformat()
    except ValueError:
        raise QBFault(2090, "Invalid Date", f"Invalid date TxnDate {txn_date!r}", "TxnDate") from None
    data = {
        "CustomerRef": {"value": customer.object_id, "name": customer.data.get("DisplayName")},
        "Line": lines,
        "TxnDate": txn_date,
        "DueDate": due,
        "TotalAmt": number(total),
        "CurrencyRef": {
            "value": company.currency,
            "name": "United States Dollar" if company.currency == "USD" else company.currency,
        },
        "ApplyTaxAfterDiscount": False,
        "PrintStatus": body.get("PrintStatus", "NotSet"),
        "EmailStatus": body.get("EmailStatus", "NotSet"),
        "LinkedTxn": [],
        "_payments": {},
    }
    if previous is not None:
        data["_payments"] = previous.data.get("_payments", {})
        data["LinkedTxn"] = previous.data.get("LinkedTxn", [])
    for field in ("DocNumber", "PrivateNote", "CustomerMemo", "BillEmail", "BillAddr", "ShipAddr", "SalesTermRef"):
        if field in body:
            data[field] = body[field]
    balance = total - sum((Decimal(str(p)) for p in data["_payments"].values()), Decimal("0"))
    if balance < 0:
        raise business("The invoice total cannot be less than the payments already applied to it.", "TotalAmt")
    data["Balance"] = number(balance)
    return data, customer


def _public(data):
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _doc_key(data):
    doc = data.get("DocNumber")
    return str(doc).strip().lower() if doc not in (None, "") else None


def _next_doc_number(company):
    numbers = [
        int(d)
        for d in SandboxObject.objects.filter(company=company, kind="invoice").values_list("data__DocNumber", flat=True)
        if isinstance(d, str) and d.isdigit()
    ]
    return str(max(numbers, default=1000) + 1)


def _duplicate_doc(existing, doc):
    txn = existing.object_id if existing is not None else "?"
    return QBFault(
        6140,
        "Duplicate Document Number Error",
        f"Duplicate Document Number Error : You must specify a different number. This number has already been used. "
        f"DocNumber={doc} is assigned to TxnType=Invoice with TxnId={txn}",
        "DocNumber",
    )


def _customer_balance(company, customer_id):
    """Keep the customer's Balance equal to the open balance of its invoices (no SyncToken change)."""
    total = Decimal("0")
    for balance in (
        SandboxObject.objects.filter(company=company, kind="invoice", data__CustomerRef__value=str(customer_id))
        .exclude(status="deleted")
        .values_list("data__Balance", flat=True)
    ):
        total += Decimal(str(balance or 0))
    SandboxObject.objects.filter(company=company, kind="customer", object_id=str(customer_id)).update(
        data=_json_set_balance(company, customer_id, total)
    )


def _json_set_balance(company, customer_id, total):
    obj = SandboxObject.objects.get(company=company, kind="customer", object_id=str(customer_id))
    data = dict(obj.data)
    data["Balance"] = number(total)
    data["BalanceWithJobs"] = number(total)
    return data


# --- Payment ----------------------------------------------------------------------------------------


def _payment_applications(company, body):
    """[(invoice id, amount)] from the payment's lines."""
    applications = []
    for line in body.get("Line") or []:
        amount = money(line.get("Amount", 0))
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType", "Invoice") != "Invoice":
                continue
            if not linked.get("TxnId"):
                raise required("Line.LinkedTxn.TxnId")
            applications.append((str(linked["TxnId"]), amount))
    return applications


def _apply_payment(company, payment_id, customer, applications, total):
    """Apply `applications` to their invoices under a lock; raises 6000 when one exceeds the balance."""
    applied = sum((amount for _, amount in applications), Decimal("0"))
    if applied > total:
        raise business("The amount applied to invoices is more than the payment's total.", "TotalAmt")
    ids = sorted({invoice_id for invoice_id, _ in applications})
    invoices = {
        obj.object_id: obj
        for obj in SandboxObject.objects.select_for_update().filter(company=company, kind="invoice", object_id__in=ids)
    }
    for invoice_id in ids:
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice.status == "deleted":
            raise invalid_reference("Invoice", invoice_id)
        if invoice.data["CustomerRef"]["value"] != customer.object_id:
            raise business(f"Invoice {invoice_id} belongs to another customer.", "Line.LinkedTxn")
    for invoice_id, amount in applications:
        invoice = invoices[invoice_id]
        balance = Decimal(str(invoice.data.get("Balance", 0)))
        if amount > balance:
            raise business(
                f"The payment amount {amount} is more than the open balance {balance} of invoice {invoice_id}.",
                "Line.Amount",
            )
        data = dict(invoice.data)
        payments = dict(data.get("_payments") or {})
        payments[payment_id] = {"Amount": str(Decimal(str(payments.get(payment_id, {}).get("Amount", 0))) + amount)}
        data["_payments"] = payments
        data["Balance"] = number(balance - amount)
        linked = [t for t in data.get("LinkedTxn", []) if t.get("TxnId") != payment_id]
        linked.append({"TxnId": payment_id, "TxnType": "Payment"})
        data["LinkedTxn"] = linked
        invoice.data = data
        core.object_save(invoice, data=data)


def _unapply_payment(company, payment):
    ids = sorted({str(a[0]) for a in payment.data.get("_applications", [])})
    for invoice in SandboxObject.objects.select_for_update().filter(company=company, kind="invoice", object_id__in=ids):
        data = dict(invoice.data)
        payments = dict(data.get("_payments") or {})
        gone = payments.pop(payment.object_id, None)
        if gone is None:
            continue
        data["_payments"] = payments
        data["Balance"] = number(Decimal(str(data.get("Balance", 0))) + Decimal(str(gone["Amount"])))
        data["LinkedTxn"] = [t for t in data.get("LinkedTxn", []) if t.get("TxnId") != payment.object_id]
        core.object_save(invoice, data=data)


def _payment_data(company, body):
    customer = _ref(company, "Customer", body.get("CustomerRef"), "CustomerRef")
    if body.get("TotalAmt") in (None, ""):
        raise required("TotalAmt")
    total = money(body["TotalAmt"], "TotalAmt")
    if total < 0:
        raise business("A payment amount cannot be negative.", "TotalAmt")
    applications = _payment_applications(company, body)
    lines = []
    for line in body.get("Line") or []:
        lines.append(
            {
                "Amount": number(money(line.get("Amount", 0))),
                "LinkedTxn": [
                    {"TxnId": str(t.get("TxnId")), "TxnType": t.get("TxnType", "Invoice")} for t in line.get("LinkedTxn") or []
                ],
            }
        )
    applied = sum((amount for _, amount in applications), Decimal("0"))
    data = {
        "CustomerRef": {"value": customer.object_id, "name": customer.data.get("DisplayName")},
        "TotalAmt": number(total),
        "UnappliedAmt": number(total - applied),
        "TxnDate": body.get("TxnDate") or timezone.now().astimezone(PACIFIC).date().isoformat(),
        "Line": lines,
        "ProcessPayment": False,
        "CurrencyRef": {
            "value": company.currency,
            "name": "United States Dollar" if company.currency == "USD" else company.currency,
        },
        "_applications": [[invoice_id, str(amount)] for invoice_id, amount in applications],
    }
    if body.get("DepositToAccountRef"):
        account = _ref(company, "Account", body["DepositToAccountRef"], "DepositToAccountRef")
        data["DepositToAccountRef"] = {"value": account.object_id, "name": account.data.get("Name")}
    for field in ("PaymentRefNum", "PaymentMethodRef", "PrivateNote"):
        if field in body:
            data[field] = body[field]
    return data, customer, applications, total


# --- Operations -------------------------------------------------------------------------------------


def create(company, entity, body, ctx=None):
    """Create an entity from its JSON body; returns the answer JSON."""
    if not isinstance(body, dict):
        raise required(entity)
    if entity == "Item":
        data = _item_data(company, body, ctx)
        try:
            obj = core.object_create(
                company=company, kind="item", data=data, unique_key=data["Name"].strip().lower(), unique_scope="item"
            )
        except core.Duplicate as exc:
            raise _duplicate_name(exc.existing) from None
        return render(obj)
    if entity == "Customer":
        data = _customer_data(company, body, ctx)
        try:
            obj = core.object_create(
                company=company, kind="customer", data=data, unique_key=data["DisplayName"].strip().lower(), unique_scope="name"
            )
        except core.Duplicate as exc:
            raise _duplicate_name(exc.existing) from None
        return render(obj)
    if entity == "Invoice":
        with transaction.atomic():
            data, customer = _invoice_data(company, body)
            if not data.get("DocNumber"):
                data["DocNumber"] = _next_doc_number(company)
            try:
                obj = core.object_create(company=company, kind="invoice", data=data, alt_key=_doc_key(data))
            except core.Duplicate as exc:
                raise _duplicate_doc(exc.existing, data.get("DocNumber")) from None
            _customer_balance(company, customer.object_id)
        return _public(render(obj))
    if entity == "Payment":
        with transaction.atomic():
            data, customer, applications, total = _payment_data(company, body)
            obj = core.object_create(company=company, kind="payment", data=data)
            _apply_payment(company, obj.object_id, customer, applications, total)
            _customer_balance(company, customer.object_id)
        return _public(render(obj))
    if entity == "Account":
        name = _check_name("Account", body.get("Name"), ctx)
        if not body.get("AccountType"):
            raise required("AccountType")
        data = account_data(name, body["AccountType"], body.get("AccountSubType"), body.get("AcctNum"), company.currency)
        try:
            obj = core.object_create(company=company, kind="account", data=data, unique_key=name.lower(), unique_scope="account")
        except core.Duplicate as exc:
            raise _duplicate_name(exc.existing) from None
        return render(obj)
    raise QBFault(2010, "Request has invalid or unsupported property", f"Unsupported entity {entity}")


def update(company, entity, body, ctx=None):
    """Full or sparse (`"sparse": true`) update; needs Id and the current SyncToken (else 5010)."""
    if not isinstance(body, dict):
        raise required(entity)
    if not body.get("Id"):
        raise required("Id")
    if body.get("SyncToken") in (None, ""):
        raise required("SyncToken")
    with transaction.atomic():
        obj = _get(company, entity, body["Id"])
        if obj.status == "deleted":
            raise not_found(entity, body["Id"])
        try:
            expected = int(body["SyncToken"])
        except (TypeError, ValueError):
            raise stale(obj.object_id) from None
        if expected != obj.version:
            raise stale(obj.object_id)
        merged = {**render(obj), **_writable(body)} if body.get("sparse") else _writable(body)
        merged = _public(merged)
        if entity == "Invoice" and obj.data.get("_payments"):
            merged.setdefault("CustomerRef", obj.data["CustomerRef"])
        return _save_update(company, entity, obj, merged, expected, ctx)


def _save_update(company, entity, obj, body, expected, ctx):
    try:
        if entity == "Item":
            data = _item_data(company, body, ctx)
            obj = core.object_save(obj, data=data, expected_version=expected, unique_key=data["Name"].strip().lower())
        elif entity == "Customer":
            data = _customer_data(company, body, ctx)
            data["Balance"] = obj.data.get("Balance", 0)
            data["BalanceWithJobs"] = obj.data.get("BalanceWithJobs", 0)
            obj = core.object_save(obj, data=data, expected_version=expected, unique_key=data["DisplayName"].strip().lower())
        elif entity == "Invoice":
            data, customer = _invoice_data(company, body, previous=obj)
            if obj.data.get("_payments") and customer.object_id != obj.data["CustomerRef"]["value"]:
                raise business("The customer of an invoice with payments cannot change.", "CustomerRef")
            data.setdefault("DocNumber", obj.data.get("DocNumber"))
            if not data.get("DocNumber"):
                data["DocNumber"] = obj.data.get("DocNumber")
            old_customer = obj.data["CustomerRef"]["value"]
            obj = core.object_save(obj, data=data, expected_version=expected, alt_key=_doc_key(data))
            _customer_balance(company, customer.object_id)
            if old_customer != customer.object_id:
                _customer_balance(company, old_customer)
            return _public(render(obj))
        elif entity == "Payment":
            _unapply_payment(company, obj)
            data, customer, applications, total = _payment_data(company, body)
            _apply_payment(company, obj.object_id, customer, applications, total)
            old_customer = obj.data["CustomerRef"]["value"]
            obj = core.object_save(obj, data=data, expected_version=expected)
            _customer_balance(company, customer.object_id)
            if old_customer != customer.object_id:
                _customer_balance(company, old_customer)
            return _public(render(obj))
        else:
            raise QBFault(2010, "Request has invalid or unsupported property", f"Operation update is not supported for {entity}")
    except core.Duplicate as exc:
        if entity == "Invoice":
            raise _duplicate_doc(exc.existing, body.get("DocNumber")) from None
        raise _duplicate_name(exc.existing) from None
    except core.Stale:
        raise stale(obj.object_id) from None
    return render(obj)


def delete(company, entity, body):
    """Delete an invoice or payment (Id and SyncToken); items and customers are made inactive instead."""
    if not isinstance(body, dict) or not body.get("Id"):
        raise required("Id")
    if entity not in ("Invoice", "Payment"):
        raise QBFault(
            2010,
            "Request has invalid or unsupported property",
            f"Operation delete is not supported for {entity}; set Active to false",
        )
    with transaction.atomic():
        obj = _get(company, entity, body["Id"])
        if obj.status == "deleted":
            raise not_found(entity, body["Id"])
        if str(body.get("SyncToken", obj.version)) != str(obj.version):
            raise stale(obj.object_id)
        if entity == "Invoice" and obj.data.get("_payments"):
            raise business("This invoice has payments applied to it. Delete the payments first.")
        if entity == "Payment":
            _unapply_payment(company, obj)
        core.object_save(obj, data=obj.data, expected_version=obj.version, status="deleted", alt_key=None)
        _customer_balance(company, obj.data["CustomerRef"]["value"])
    return {"status": "Deleted", "domain": "QBO", "Id": obj.object_id}


def void(company, entity, body):
    """Void an invoice: amounts to zero, the record stays (with "Voided" in its private note)."""
    if entity != "Invoice":
        raise QBFault(2010, "Request has invalid or unsupported property", f"Operation void is not supported for {entity}")
    if not isinstance(body, dict) or not body.get("Id"):
        raise required("Id")
    with transaction.atomic():
        obj = _get(company, entity, body["Id"])
        if str(body.get("SyncToken", obj.version)) != str(obj.version):
            raise stale(obj.object_id)
        if obj.data.get("_payments"):
            raise business("This invoice has payments applied to it. Delete the payments first.")
        data = dict(obj.data)
        data["Line"] = [{**line, "Amount": 0} for line in data["Line"]]
        data["TotalAmt"] = 0
        data["Balance"] = 0
        data["PrivateNote"] = "Voided"
        obj = core.object_save(obj, data=data, expected_version=obj.version)
        _customer_balance(company, obj.data["CustomerRef"]["value"])
    return _public(render(obj))


def read(company, entity, object_id):
    obj = _get(company, entity, object_id)
    if obj.status == "deleted":
        raise not_found(entity, object_id)
    return _public(render(obj))


def account_data(name, account_type, sub_type=None, number_=None, currency="USD"):
    classification = {
        "Income": "Revenue",
        "Other Income": "Revenue",
        "Bank": "Asset",
        "Other Current Asset": "Asset",
        "Accounts Receivable": "Asset",
        "Expense": "Expense",
        "Cost of Goods Sold": "Expense",
    }.get(account_type, "Asset")
    data = {
        "Name": name,
        "FullyQualifiedName": name,
        "SubAccount": False,
        "Active": True,
        "Classification": classification,
        "AccountType": account_type,
        "AccountSubType": sub_type
        or {"Income": "SalesOfProductIncome", "Bank": "Checking"}.get(account_type, "OtherCurrentAssets"),
        "CurrentBalance": 0,
        "CurrentBalanceWithSubAccounts": 0,
        "CurrencyRef": {"value": currency, "name": "United States Dollar" if currency == "USD" else currency},
    }
    if number_:
        data["AcctNum"] = str(number_)
    return data


def company_info(company):
    return {
        "CompanyName": company.name,
        "LegalName": f"{company.name} LLC",
        "CompanyAddr": {
            "Id": "1",
            "Line1": "100 Main Street",
            "City": "Mountain View",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94043",
        },
        "CustomerCommunicationAddr": {
            "Id": "1",
            "Line1": "100 Main Street",
            "City": "Mountain View",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94043",
        },
        "LegalAddr": {
            "Id": "1",
            "Line1": "100 Main Street",
            "City": "Mountain View",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94043",
        },
        "PrimaryPhone": {},
        "CompanyStartDate": company.created_at.astimezone(PACIFIC).date().isoformat(),
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": {"Address": "bookkeeper@example.com"},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
        ],
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": {"CreateTime": qb_datetime(company.created_at), "LastUpdatedTime": qb_datetime(company.created_at)},
    }
