"""Wave's GraphQL API over one sandbox business: resolvers for the reads and writes BlueClerk uses.

`execute(book=..., query=..., variables=..., operation_name=...)` runs a document against the copied
public schema and answers `(http_status, body)`. Documents that do not validate against the schema get
GraphQL `errors` (HTTP 400, nothing executed), as Wave's graphene server does. Business-rule failures
are what Wave does for them: HTTP 200 with `didSucceed: false` and `inputErrors{code, message, path}`.
Wave publishes no list of inputError codes; the codes here (REQUIRED, INVALID, NOT_FOUND, DUPLICATE,
AMOUNT_EXCEEDS_DUE, INVALID_STATUS) are ours, the message and path are what clients should read.

The book is the storage port (see `book.WaveBook`): JSON-able dicts per kind (`customer`, `product`,
`invoice`, `payment`, `account`), each with a global `id` (base64 of `Business:<key>;<Type>:<n>`, the
form Wave's ids take), ISO strings for dates and decimals as strings.
"""

import base64
import datetime
import math
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone
from graphql import GraphQLError, graphql_sync, parse, validate

from .schema import parse_datetime, wave_schema

CENT = Decimal("0.01")
CURRENCIES = {
    "USD": ("US dollar", "US dollars", "$"),
    "CAD": ("Canadian dollar", "Canadian dollars", "$"),
    "EUR": ("Euro", "Euros", "€"),
    "GBP": ("Pound sterling", "Pounds sterling", "£"),
    "AUD": ("Australian dollar", "Australian dollars", "$"),
}
ACCOUNT_TYPES = {
    "INCOME": ("Income", "CREDIT"),
    "ASSET": ("Assets", "DEBIT"),
    "LIABILITY": ("Liabilities & Credit Cards", "CREDIT"),
    "EXPENSE": ("Expenses", "DEBIT"),
    "EQUITY": ("Equity", "CREDIT"),
}
SUBTYPE_NAMES = {
    "INCOME": "Income",
    "OTHER_INCOME": "Other Income",
    "CASH_AND_BANK": "Cash and Bank",
    "RECEIVABLE_INVOICES": "Accounts Receivable",
    "EXPENSE": "Operating Expense",
}
PAYMENT_ACCOUNT_SUBTYPES = {"CASH_AND_BANK", "MONEY_IN_TRANSIT", "CREDIT_CARD"}
INVOICE_SORTS = {
    "CREATED_AT": lambda o: o["createdAt"],
    "MODIFIED_AT": lambda o: o["modifiedAt"],
    "INVOICE_NUMBER": lambda o: (len(o["invoiceNumber"]), o["invoiceNumber"]),
    "INVOICE_DATE": lambda o: o["invoiceDate"],
    "DUE_AT": lambda o: o["dueDate"],
}
NAMED_SORTS = {
    "CREATED_AT": lambda o: o["createdAt"],
    "MODIFIED_AT": lambda o: o["modifiedAt"],
    "NAME": lambda o: o["name"].casefold(),
}
KIND_TYPES = {
    "customer": "Customer",
    "product": "Product",
    "invoice": "Invoice",
    "payment": "InvoicePayment",
    "account": "Account",
}


class InputErrors(Exception):
    """A business-rule refusal: answered as didSucceed false with these inputErrors."""

    def __init__(self, *errors):
        super().__init__(errors[0]["message"])
        self.errors = list(errors)


def input_error(code, message, *path):
    return {"code": code, "message": message, "path": ["input", *[str(p) for p in path]]}


def global_id(business_id, type_name, number):
    """A record's id in Wave's form: base64 of `Business:<uuid>;<Type>:<n>` (the business id is
    base64 of `Business:<uuid>`)."""
    business = base64.b64decode(business_id).decode()
    return base64.b64encode(f"{business};{type_name}:{number}".encode()).decode()


def now_iso():
    return timezone.now().astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def money_text(amount):
    return str(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))


def currency(code):
    name, plural, symbol = CURRENCIES.get(code, (code, code, code))
    return {"code": code, "exponent": 2, "name": name, "plural": plural, "symbol": symbol}


def money(amount, code):
    value = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    minor = int(value * 100)
    return {"value": str(value), "minorUnitValue": Decimal(minor), "raw": minor, "currency": currency(code)}


def page_of(objects, page, page_size):
    """Wave's 1-based offset paging: a slice and its OffsetPageInfo."""
    page = max(page or 1, 1)
    page_size = max(page_size or 1, 1)
    total = len(objects)
    start = (page - 1) * page_size
    return objects[start : start + page_size], {
        "currentPage": page,
        "totalPages": max(math.ceil(total / page_size), 1),
        "totalCount": total,
    }


def sort_objects(objects, sort, keys):
    for order in reversed(sort or []):
        field, _, direction = order.rpartition("_")
        key = keys.get(field, keys["CREATED_AT"])
        objects = sorted(objects, key=key, reverse=direction == "DESC")
    return objects


def modified_between(objects, after, before):
    if after is not None:
        objects = [o for o in objects if parse_datetime(o["modifiedAt"]) > after]
    if before is not None:
        objects = [o for o in objects if parse_datetime(o["modifiedAt"]) < before]
    return objects


class WaveGraph:
    """Resolvers for one request against one business: the root value handed to graphql-core."""

    def __init__(self, book):
        self.book = book
        self.business_id = book.business_id

    # -- ids and look-ups -------------------------------------------------------------------
    def finisher(self, kind):
        """What gives a new record its Wave id once the store has numbered it."""

        def finish(data, number):
            data["id"] = global_id(self.business_id, KIND_TYPES[kind], number)
            return data

        return finish

    def find(self, kind, object_id):
        return self.book.get(kind, str(object_id)) if object_id else None

    def accounts(self):
        return self.book.objects("account")

    def currency_code(self):
        return self.book.business.get("currency", "USD")

    # -- output nodes -----------------------------------------------------------------------
    def business_node(self, info=None):
        b = self.book.business
        code = self.currency_code()

        def customers(info, page=1, pageSize=45, sort=("CREATED_AT_DESC",), email=None, **kw):
            found = [c for c in self.book.objects("customer") if not c.get("isArchived")]
            if email is not None:
                found = [c for c in found if (c.get("email") or "").casefold() == email.casefold()]
            found = modified_between(found, kw.get("modifiedAtAfter"), kw.get("modifiedAtBefore"))
            return self.connection(sort_objects(found, sort, NAMED_SORTS), page, pageSize, self.customer_node)

        def products(info, page=1, pageSize=45, sort=("CREATED_AT_DESC",), isArchived=False, **kw):
            found = self.book.objects("product")
            if isArchived is not None:
                found = [p for p in found if bool(p.get("isArchived")) == isArchived]
            for flag in ("isSold", "isBought"):
                if kw.get(flag) is not None:
                    found = [p for p in found if bool(p.get(flag)) == kw[flag]]
            found = modified_between(found, kw.get("modifiedAtAfter"), kw.get("modifiedAtBefore"))
            return self.connection(sort_objects(found, sort, NAMED_SORTS), page, pageSize, self.product_node)

        def invoices(info, page=1, pageSize=45, sort=("CREATED_AT_DESC",), **kw):
            found = self.book.objects("invoice")
            if kw.get("customerId"):
                found = [i for i in found if i["customerId"] == kw["customerId"]]
            if kw.get("invoiceNumber"):
                found = [i for i in found if i["invoiceNumber"] == kw["invoiceNumber"]]
            found = modified_between(found, kw.get("modifiedAtAfter"), kw.get("modifiedAtBefore"))
            nodes = [self.invoice_node(i) for i in sort_objects(found, sort, INVOICE_SORTS)]
            if kw.get("status"):
                nodes = [n for n in nodes if n["status"] == kw["status"]]
            return self.connection(nodes, page, pageSize, lambda node: node)

        def accounts(info, page=1, pageSize=45, subtypes=None, types=None, excludedSubtypes=None, isArchived=False):
            found = self.accounts()
            if isArchived is not None:
                found = [a for a in found if bool(a.get("isArchived")) == isArchived]
            if subtypes:
                found = [a for a in found if a["subtype"] in subtypes]
            if types:
                found = [a for a in found if a["type"] in types]
            if excludedSubtypes:
                found = [a for a in found if a["subtype"] not in excludedSubtypes]
            found = sorted(found, key=lambda a: (a["type"], a.get("sequence", 0), a["name"]))
            return self.connection(found, page, pageSize, self.account_node)

        def one(kind, node):
            def resolve(info, id):
                found = self.find(kind, id)
                return node(found) if found else None

            return resolve

        return {
            "id": self.business_id,
            "name": b["name"],
            "currency": currency(code),
            "createdAt": b.get("createdAt"),
            "modifiedAt": b.get("modifiedAt"),
            "isPersonal": False,
            "isArchived": False,
            "isClassicAccounting": False,
            "isClassicInvoicing": False,
            "emailSendEnabled": False,
            "timezone": "America/Toronto",
            "customers": customers,
            "customer": one("customer", self.customer_node),
            "products": products,
            "product": one("product", self.product_node),
            "invoices": invoices,
            "invoice": one("invoice", self.invoice_node),
            "accounts": accounts,
            "account": one("account", self.account_node),
            "invoicePayment": one("payment", self.payment_node),
        }

    def connection(self, objects, page, page_size, node):
        chunk, info = page_of(objects, page, page_size)
        return {"edges": [{"node": node(o)} for o in chunk], "pageInfo": info}

    def customer_node(self, c):
        code = c.get("currency") or self.currency_code()
        due = Decimal(0)
        overdue = Decimal(0)
        today = timezone.localdate().isoformat()
        for invoice in self.book.objects("invoice"):
            if invoice["customerId"] == c["id"] and invoice["status"] != "DRAFT":
                owed = self.invoice_totals(invoice)["due"]
                due += owed
                if invoice["dueDate"] < today:
                    overdue += owed
        node = dict(c)
        node.update(
            business=self.business_node,
            currency=currency(code),
            address=self.address(c.get("address")),
            outstandingAmount=money(due, code),
            overdueAmount=money(overdue, code),
        )
        return node

    @staticmethod
    def address(value):
        if not value:
            return None
        node = {k: value.get(k) for k in ("addressLine1", "addressLine2", "city", "postalCode")}
        country = value.get("countryCode")
        node["country"] = {"code": country, "name": country} if country else None
        province = value.get("provinceCode")
        node["province"] = {"code": province, "name": province} if province else None
        return node

    def product_node(self, p):
        node = dict(p)
        income = self.find("account", p.get("incomeAccountId"))
        expense = self.find("account", p.get("expenseAccountId"))
        node.update(
            business=self.business_node,
            unitPrice=Decimal(p["unitPrice"]),
            incomeAccount=self.account_node(income) if income else None,
            expenseAccount=self.account_node(expense) if expense else None,
            defaultSalesTaxes=[],
        )
        return node

    def account_node(self, a):
        type_name, balance = ACCOUNT_TYPES[a["type"]]
        node = dict(a)
        node.update(
            business=self.business_node,
            currency=currency(a.get("currency") or self.currency_code()),
            normalBalanceType=balance,
            isArchived=bool(a.get("isArchived")),
            sequence=a.get("sequence", 0),
            type={"name": type_name, "normalBalanceType": balance, "value": a["type"]},
            subtype={
                "archivable": a["subtype"] not in {"RECEIVABLE_INVOICES"},
                "description": None,
                "name": SUBTYPE_NAMES.get(a["subtype"], a["subtype"].replace("_", " ").title()),
                "systemCreated": False,
                "type": {"name": type_name, "normalBalanceType": balance, "value": a["type"]},
                "value": a["subtype"],
            },
        )
        return node

    def invoice_payments(self, invoice):
        return [p for p in self.book.objects("payment") if p["invoiceId"] == invoice["id"]]

    def invoice_totals(self, invoice):
        total = sum((Decimal(line["quantity"]) * Decimal(line["unitPrice"]) for line in invoice["items"]), Decimal(0)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        paid = sum((Decimal(p["amount"]) for p in self.invoice_payments(invoice)), Decimal(0))
        return {"total": total, "paid": paid, "due": max(total - paid, Decimal(0))}

    def invoice_status(self, invoice, totals):
        if invoice["status"] == "DRAFT":
            return "DRAFT"
        if totals["paid"] > totals["total"]:
            return "OVERPAID"
        if totals["paid"] and totals["paid"] == totals["total"]:
            return "PAID"
        if totals["paid"]:
            return "PARTIAL"
        if invoice["dueDate"] < timezone.localdate().isoformat():
            return "OVERDUE"
        return invoice["status"]

    def invoice_node(self, invoice):
        code = invoice.get("currency") or self.currency_code()
        totals = self.invoice_totals(invoice)
        customer = self.find("customer", invoice["customerId"])
        node = dict(invoice)

        def line(item, index):
            product = self.find("product", item["productId"])
            income = self.find("account", product.get("incomeAccountId")) if product else None
            amount = Decimal(item["quantity"]) * Decimal(item["unitPrice"])
            return {
                "id": f"{invoice['id']}:{index}",
                "description": item.get("description"),
                "quantity": Decimal(item["quantity"]),
                "unitPrice": Decimal(item["unitPrice"]),
                "price": Decimal(item["unitPrice"]),
                "subtotal": money(amount, code),
                "total": money(amount, code),
                "taxes": [],
                "product": self.product_node(product) if product else None,
                "account": self.account_node(income) if income else None,
            }

        zero = money(0, code)
        node.update(
            business=self.business_node,
            customer=self.customer_node(customer) if customer else None,
            currency=currency(code),
            status=self.invoice_status(invoice, totals),
            items=[line(item, n) for n, item in enumerate(invoice["items"], start=1)],
            subtotal=money(totals["total"], code),
            total=money(totals["total"], code),
            taxTotal=zero,
            discountTotal=zero,
            discounts=[],
            amountPaid=money(totals["paid"], code),
            amountDue=money(totals["due"], code),
            exchangeRate=Decimal(invoice.get("exchangeRate") or 1),
            payments=lambda info: [self.payment_node(p) for p in self.invoice_payments(invoice)],
            pdfUrl=f"https://sandbox.invalid/wave/invoices/{invoice['id']}.pdf",
            viewUrl=f"https://sandbox.invalid/wave/invoices/{invoice['id']}",
            anonymousId=invoice["id"],
            invoiceReminders=[],
            amountTitle=invoice.get("amountTitle") or "Amount",
            itemTitle=invoice.get("itemTitle") or "Items",
            priceTitle=invoice.get("priceTitle") or "Price",
            unitTitle=invoice.get("unitTitle") or "Quantity",
            title=invoice.get("title") or "Invoice",
            **{
                flag: bool(invoice.get(flag))
                for flag in (
                    "hideName",
                    "hideDescription",
                    "hideUnit",
                    "hidePrice",
                    "hideAmount",
                    "disableAmexPayments",
                    "disableBankPayments",
                    "disableCreditCardPayments",
                    "requireTermsOfServiceAgreement",
                )
            },
        )
        return node

    def payment_node(self, p):
        invoice = self.find("invoice", p["invoiceId"])
        account = self.find("account", p["paymentAccountId"])
        node = dict(p)
        node.update(
            business=self.business_node,
            account=self.account_node(account) if account else None,
            invoice=(lambda info: self.invoice_node(invoice)) if invoice else None,
            customer=(lambda info: self.customer_node(self.find("customer", invoice["customerId"]))) if invoice else None,
            amount=money_text(p["amount"]),
            exchangeRate=Decimal(p.get("exchangeRate") or 1),
            active=True,
            origin="MANUAL",
            state="COMPLETED",
            transactionType="PAYMENT",
            paymentCurrency=currency(self.currency_code()),
            invoiceCurrency=currency(self.currency_code()),
            businessCurrency=currency(self.currency_code()),
        )
        return node

    # -- queries ----------------------------------------------------------------------------
    def businesses(self, info, page=1, pageSize=10, isArchived=None):
        found = [] if isArchived else [self.business_node()]
        chunk, page_info = page_of(found, page, pageSize)
        return {"edges": [{"node": b} for b in chunk], "pageInfo": page_info}

    def business(self, info, id=None):
        if id is not None and id != self.business_id:
            raise GraphQLError("Business not found.", extensions={"code": "NOT_FOUND"})
        return self.business_node()

    def user(self, info):
        return {
            "id": global_id(self.business_id, "User", 1),
            "firstName": "Sandbox",
            "lastName": "Bookkeeper",
            "defaultEmail": "bookkeeper@sandbox.invalid",
            "createdAt": self.book.business.get("createdAt"),
            "modifiedAt": self.book.business.get("modifiedAt"),
        }

    # -- mutations --------------------------------------------------------------------------
    def outcome(self, field, write):
        """Runs a write; a business-rule refusal becomes didSucceed false with its inputErrors."""
        try:
            # One mutation is one transaction: a refusal leaves nothing behind, and a lock taken by
            # `book.lock` holds until the write is done.
            with transaction.atomic():
                result = write()
        except InputErrors as refusal:
            return {"didSucceed": False, "inputErrors": refusal.errors, field: None}
        return {"didSucceed": True, "inputErrors": [], field: result}

    def check_business(self, business_id):
        if business_id != self.business_id:
            raise InputErrors(input_error("NOT_FOUND", "Business not found.", "businessId"))

    def check_name(self, name, required):
        if name is None and not required:
            return
        if not (name or "").strip():
            raise InputErrors(input_error("REQUIRED", "Name is required.", "name"))
        if len(name) > 255:
            raise InputErrors(input_error("INVALID", "Name must be 255 characters or fewer.", "name"))
        refusal = self.book.rejects_name(name)
        if refusal:
            raise InputErrors(input_error("INVALID", refusal, "name"))

    def customerCreate(self, info, input):
        def write():
            self.check_business(input["businessId"])
            self.check_name(input.get("name"), required=True)
            stamp = now_iso()
            data = {k: v for k, v in input.items() if k != "businessId"}
            data.update(createdAt=stamp, modifiedAt=stamp, isArchived=False)
            return self.customer_node(self.book.create("customer", data, self.finisher("customer")))

        return self.outcome("customer", write)

    def customerPatch(self, info, input):
        def write():
            customer = self.find("customer", input["id"])
            if not customer:
                raise InputErrors(input_error("NOT_FOUND", "Customer not found.", "id"))
            self.check_name(input.get("name"), required=False)
            customer.update({k: v for k, v in input.items() if k != "id"})
            customer["modifiedAt"] = now_iso()
            return self.customer_node(self.book.save("customer", customer))

        return self.outcome("customer", write)

    def check_accounts(self, input):
        for field, wanted in (("incomeAccountId", {"INCOME", "OTHER_INCOME"}), ("expenseAccountId", None)):
            account_id = input.get(field)
            if not account_id:
                continue
            account = self.find("account", account_id)
            if not account or account.get("isArchived"):
                raise InputErrors(input_error("NOT_FOUND", "Account not found.", field))
            if wanted and account["subtype"] not in wanted:
                raise InputErrors(input_error("INVALID", "The income account must be an income account.", field))
            if wanted is None and account["type"] != "EXPENSE":
                raise InputErrors(input_error("INVALID", "The expense account must be an expense account.", field))

    def check_price(self, value, *path):
        if value is not None and value < 0:
            raise InputErrors(input_error("INVALID", "Unit price cannot be negative.", *path))

    def productCreate(self, info, input):
        def write():
            self.check_business(input["businessId"])
            self.check_name(input.get("name"), required=True)
            self.check_price(input["unitPrice"], "unitPrice")
            self.check_accounts(input)
            stamp = now_iso()
            data = {
                "name": input["name"],
                "description": input.get("description"),
                "unitPrice": str(input["unitPrice"]),
                "incomeAccountId": input.get("incomeAccountId"),
                "expenseAccountId": input.get("expenseAccountId"),
                "isSold": bool(input.get("incomeAccountId")) or not input.get("expenseAccountId"),
                "isBought": bool(input.get("expenseAccountId")),
                "isArchived": False,
                "createdAt": stamp,
                "modifiedAt": stamp,
            }
            return self.product_node(self.book.create("product", data, self.finisher("product")))

        return self.outcome("product", write)

    def productPatch(self, info, input):
        def write():
            product = self.find("product", input["id"])
            if not product:
                raise InputErrors(input_error("NOT_FOUND", "Product not found.", "id"))
            self.check_name(input.get("name"), required=False)
            self.check_price(input.get("unitPrice"), "unitPrice")
            self.check_accounts(input)
            for field in ("name", "description", "incomeAccountId", "expenseAccountId"):
                if field in input:
                    product[field] = input[field]
            if input.get("unitPrice") is not None:
                product["unitPrice"] = str(input["unitPrice"])
            if input.get("incomeAccountId"):
                product["isSold"] = True
            if input.get("expenseAccountId"):
                product["isBought"] = True
            product["modifiedAt"] = now_iso()
            return self.product_node(self.book.save("product", product))

        return self.outcome("product", write)

    def productArchive(self, info, input):
        def write():
            product = self.find("product", input["id"])
            if not product:
                raise InputErrors(input_error("NOT_FOUND", "Product not found.", "id"))
            product.update(isArchived=True, modifiedAt=now_iso())
            return self.product_node(self.book.save("product", product))

        return self.outcome("product", write)

    def next_invoice_number(self):
        numbers = [int(i["invoiceNumber"]) for i in self.book.objects("invoice") if i["invoiceNumber"].isdigit()]
        return str(max(numbers, default=0) + 1)

    def invoiceCreate(self, info, input):
        def write():
            self.check_business(input["businessId"])
            customer = self.find("customer", input["customerId"])
            if not customer or customer.get("isArchived"):
                raise InputErrors(input_error("NOT_FOUND", "Customer not found.", "customerId"))
            errors = []
            lines = []
            for n, item in enumerate(input.get("items") or []):
                product = self.find("product", item["productId"])
                if not product or product.get("isArchived"):
                    errors.append(input_error("NOT_FOUND", "Product not found.", "items", n, "productId"))
                    continue
                quantity = item.get("quantity")
                quantity = Decimal(1) if quantity is None else quantity
                price = item.get("unitPrice")
                price = Decimal(product["unitPrice"]) if price is None else price
                if quantity <= 0:
                    errors.append(input_error("INVALID", "Quantity must be greater than zero.", "items", n, "quantity"))
                if price < 0:
                    errors.append(input_error("INVALID", "Unit price cannot be negative.", "items", n, "unitPrice"))
                description = item.get("description")
                lines.append(
                    {
                        "productId": product["id"],
                        "description": product.get("description") if description is None else description,
                        "quantity": str(quantity),
                        "unitPrice": str(price),
                    }
                )
            number = input.get("invoiceNumber") or self.next_invoice_number()
            if any(i["invoiceNumber"] == number for i in self.book.objects("invoice")):
                errors.append(input_error("DUPLICATE", f"Invoice number {number} is already in use.", "invoiceNumber"))
            invoice_date = input.get("invoiceDate") or timezone.localdate()
            due_date = input.get("dueDate") or invoice_date
            if due_date < invoice_date:
                errors.append(input_error("INVALID", "The due date cannot be before the invoice date.", "dueDate"))
            if errors:
                raise InputErrors(*errors)
            stamp = now_iso()
            data = {
                key: value
                for key, value in input.items()
                if key not in {"businessId", "items", "discounts", "invoiceDate", "dueDate", "exchangeRate"}
            }
            data.update(
                invoiceNumber=number,
                invoiceDate=invoice_date.isoformat(),
                dueDate=due_date.isoformat(),
                currency=input.get("currency") or self.currency_code(),
                exchangeRate=str(input.get("exchangeRate") or 1),
                status=input.get("status") or "DRAFT",
                items=lines,
                createdAt=stamp,
                modifiedAt=stamp,
                lastSentAt=None,
                lastSentVia=None,
            )
            return self.invoice_node(self.book.create("invoice", data, self.finisher("invoice"), alt_key=number))

        return self.outcome("invoice", write)

    def existing_invoice(self, invoice_id):
        invoice = self.find("invoice", invoice_id)
        if not invoice:
            raise InputErrors(input_error("NOT_FOUND", "Invoice not found.", "invoiceId"))
        return invoice

    def invoiceApprove(self, info, input):
        def write():
            invoice = self.existing_invoice(input["invoiceId"])
            if invoice["status"] != "DRAFT":
                raise InputErrors(input_error("INVALID_STATUS", "Only a draft invoice can be approved.", "invoiceId"))
            invoice.update(status="SAVED", modifiedAt=now_iso())
            return self.invoice_node(self.book.save("invoice", invoice))

        return self.outcome("invoice", write)

    def invoiceMarkSent(self, info, input):
        def write():
            invoice = self.existing_invoice(input["invoiceId"])
            if invoice["status"] == "DRAFT":
                raise InputErrors(
                    input_error("INVALID_STATUS", "A draft invoice must be approved before it is sent.", "invoiceId")
                )
            sent_at = input.get("sentAt") or timezone.now()
            invoice.update(
                status="SENT",
                lastSentAt=sent_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
                lastSentVia=input["sendMethod"],
                modifiedAt=now_iso(),
            )
            return self.invoice_node(self.book.save("invoice", invoice))

        return self.outcome("invoice", write)

    def invoicePaymentCreateManual(self, info, input):
        def write():
            self.book.lock("invoice", input["invoiceId"])
            invoice = self.existing_invoice(input["invoiceId"])
            if invoice["status"] == "DRAFT":
                raise InputErrors(input_error("INVALID_STATUS", "Approve the invoice before recording a payment.", "invoiceId"))
            account = self.find("account", input["paymentAccountId"])
            if not account or account["subtype"] not in PAYMENT_ACCOUNT_SUBTYPES:
                raise InputErrors(
                    input_error("INVALID", "The payment account must be a cash or bank account.", "paymentAccountId")
                )
            amount = input["amount"]
            if amount <= 0:
                raise InputErrors(input_error("INVALID", "The amount must be greater than zero.", "amount"))
            due = self.invoice_totals(invoice)["due"]
            if amount > due:
                raise InputErrors(
                    input_error(
                        "AMOUNT_EXCEEDS_DUE",
                        f"The payment amount ({money_text(amount)}) is more than the amount due ({money_text(due)}).",
                        "amount",
                    )
                )
            if input["exchangeRate"] <= 0:
                raise InputErrors(input_error("INVALID", "The exchange rate must be greater than zero.", "exchangeRate"))
            stamp = now_iso()
            payment = self.book.create(
                "payment",
                {
                    "invoiceId": invoice["id"],
                    "paymentAccountId": account["id"],
                    "amount": str(amount),
                    "exchangeRate": str(input["exchangeRate"]),
                    "paymentDate": input["paymentDate"].isoformat(),
                    "paymentMethod": input["paymentMethod"],
                    "memo": input.get("memo"),
                    "createdAt": stamp,
                    "modifiedAt": stamp,
                },
                self.finisher("payment"),
            )
            invoice["modifiedAt"] = stamp
            self.book.save("invoice", invoice)
            return self.payment_node(payment)

        return self.outcome("invoicePayment", write)


MUTATION_KINDS = {
    "customerCreate": "customer",
    "customerPatch": "customer",
    "productCreate": "product",
    "productPatch": "product",
    "productArchive": "product",
    "invoiceCreate": "invoice",
    "invoiceApprove": "invoice",
    "invoiceMarkSent": "invoice",
    "invoicePaymentCreateManual": "payment",
}


def root_fields(document, operation_name):
    """(operation type, root field names) of the operation a request runs."""
    operations = [d for d in document.definitions if d.kind == "operation_definition"]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if not chosen:
        return None, []
    operation = chosen[0]
    names = [s.name.value for s in operation.selection_set.selections if s.kind == "field"]
    return operation.operation.value, names


def request_kinds(document, operation_name):
    """The kinds a request touches, for the control counters: a write per mutation field, else `query`."""
    operation, names = root_fields(document, operation_name)
    if operation == "mutation":
        return [MUTATION_KINDS.get(name, "query") for name in names]
    return ["query"]


def check_document(query):
    """Parses and validates a document against the schema: (document, errors as JSON-able dicts)."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, [exc.formatted]
    errors = validate(wave_schema(), document)
    return document, [e.formatted for e in errors]


def execute(*, book, query, variables=None, operation_name=None):
    """Runs one GraphQL request for `book`'s business: answers (http_status, JSON body)."""
    if not isinstance(query, str) or not query.strip():
        return 400, {"errors": [{"message": "Must provide query string."}]}
    _document, errors = check_document(query)
    if errors:
        return 400, {"errors": errors}
    root = WaveGraph(book)
    result = graphql_sync(
        wave_schema(),
        query,
        root_value=root,
        variable_values=variables,
        operation_name=operation_name,
    )
    body = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
        if result.data is None:
            return 400, body
    return 200, body
