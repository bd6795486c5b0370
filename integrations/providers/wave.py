"""Wave adapter (GraphQL, `POST {api_url}` with `{"query", "variables"}`).

Facts it relies on (../shared/providers/FACTS.md, integrations/contracts/wave/wave-public-schema.graphql):
one request per record (no batch); business-rule failures come as HTTP 200 with `didSucceed: false`
and `inputErrors{code,message,path}`; GraphQL errors in `errors[]` (`extensions.code`
UNAUTHENTICATED, NOT_FOUND, ...); products take an INCOME `incomeAccountId`; invoice payments are
recorded with `invoicePaymentCreateManual` (never `moneyTransactionCreate`, which would create a stray
deposit); lists are 1-based `page`/`pageSize` with `modifiedAtAfter`. `company_id` is the business id.
Every document below is checked against the schema by tests/integrations/providers/test_wave_contract.py.
"""

from __future__ import annotations

import datetime
import time

from .base import (
    Account,
    Company,
    CustomerData,
    InvoiceData,
    ItemData,
    Limit,
    LineData,
    MalformedResponse,
    NotFound,
    PaymentData,
    ProviderError,
    PushResult,
    RecordRejected,
    RemoteRecord,
    TransientError,
)
from .http import (
    HttpAdapter,
    decimal_or_zero,
    describe,
    forbidden_name_problem,
    money,
    one_line,
    parse_date,
    parse_datetime,
    refused_before_sending,
)

PAGE_SIZE = 100

CUSTOMER_FIELDS = """
    id name email phone modifiedAt isArchived
    address { addressLine1 addressLine2 city postalCode province { code } country { code } }
"""
PRODUCT_FIELDS = "id name description unitPrice isArchived modifiedAt incomeAccount { id }"
PAYMENT_FIELDS = "id amount paymentDate paymentMethod memo modifiedAt account { id }"
INVOICE_FIELDS = f"""
    id invoiceNumber invoiceDate dueDate status modifiedAt memo
    customer {{ id }}
    currency {{ code }}
    total {{ value }}
    amountDue {{ value }}
    amountPaid {{ value }}
    items {{ product {{ id }} description quantity unitPrice }}
    payments {{ {PAYMENT_FIELDS} }}
"""
INPUT_ERRORS = "didSucceed inputErrors { code message path }"


def _mutation(name, input_type, field, fields):
    return f"""
mutation {name[0].upper() + name[1:]}($input: {input_type}!) {{
  {name}(input: $input) {{
    {INPUT_ERRORS}
    {field} {{ {fields} }}
  }}
}}
"""


MUTATIONS = {
    "customerCreate": _mutation("customerCreate", "CustomerCreateInput", "customer", CUSTOMER_FIELDS),
    "customerPatch": _mutation("customerPatch", "CustomerPatchInput", "customer", CUSTOMER_FIELDS),
    "productCreate": _mutation("productCreate", "ProductCreateInput", "product", PRODUCT_FIELDS),
    "productPatch": _mutation("productPatch", "ProductPatchInput", "product", PRODUCT_FIELDS),
    "invoiceCreate": _mutation("invoiceCreate", "InvoiceCreateInput", "invoice", INVOICE_FIELDS),
    "invoicePatch": _mutation("invoicePatch", "InvoicePatchInput", "invoice", INVOICE_FIELDS),
    "invoiceApprove": _mutation("invoiceApprove", "InvoiceApproveInput", "invoice", "id status"),
    "invoiceMarkSent": _mutation("invoiceMarkSent", "InvoiceMarkSentInput", "invoice", "id status"),
    "invoicePaymentCreateManual": _mutation(
        "invoicePaymentCreateManual", "InvoicePaymentCreateManualInput", "invoicePayment", PAYMENT_FIELDS
    ),
}
RESULT_FIELDS = {
    "customerCreate": "customer",
    "customerPatch": "customer",
    "productCreate": "product",
    "productPatch": "product",
    "invoiceCreate": "invoice",
    "invoicePatch": "invoice",
    "invoiceApprove": "invoice",
    "invoiceMarkSent": "invoice",
    "invoicePaymentCreateManual": "invoicePayment",
}

BUSINESS_QUERY = """
query Business($businessId: ID!) {
  business(id: $businessId) { id name currency { code } }
}
"""
BUSINESSES_QUERY = """
query Businesses($page: Int!) {
  businesses(page: $page, pageSize: 50) {
    pageInfo { currentPage totalPages }
    edges { node { id name currency { code } } }
  }
}
"""
ACCOUNTS_QUERY = """
query IncomeAccounts($businessId: ID!, $page: Int!) {
  business(id: $businessId) {
    accounts(subtypes: [INCOME], page: $page, pageSize: 100) {
      pageInfo { currentPage totalPages }
      edges { node { id name displayId isArchived subtype { value } } }
    }
  }
}
"""
# Where payments can be deposited (invoicePaymentCreateManual's paymentAccountId): Cash & Bank accounts.
BANK_ACCOUNTS_QUERY = """
query BankAccounts($businessId: ID!, $page: Int!) {
  business(id: $businessId) {
    accounts(subtypes: [CASH_AND_BANK], isArchived: false, page: $page, pageSize: 100) {
      pageInfo { currentPage totalPages }
      edges { node { id name displayId isArchived subtype { value } } }
    }
  }
}
"""
LIST_QUERIES = {
    "customer": f"""
query Customers($businessId: ID!, $page: Int!, $modifiedAtAfter: DateTime, $email: String) {{
  business(id: $businessId) {{
    customers(page: $page, pageSize: {PAGE_SIZE}, modifiedAtAfter: $modifiedAtAfter, email: $email, sort: [MODIFIED_AT_ASC]) {{
      pageInfo {{ currentPage totalPages }}
      edges {{ node {{ {CUSTOMER_FIELDS} }} }}
    }}
  }}
}}
""",
    "item": f"""
query Products($businessId: ID!, $page: Int!, $modifiedAtAfter: DateTime) {{
  business(id: $businessId) {{
    products(page: $page, pageSize: {PAGE_SIZE}, modifiedAtAfter: $modifiedAtAfter, sort: [MODIFIED_AT_ASC]) {{
      pageInfo {{ currentPage totalPages }}
      edges {{ node {{ {PRODUCT_FIELDS} }} }}
    }}
  }}
}}
""",
    "invoice": f"""
query Invoices($businessId: ID!, $page: Int!, $modifiedAtAfter: DateTime, $invoiceNumber: String) {{
  business(id: $businessId) {{
    invoices(page: $page, pageSize: {PAGE_SIZE}, modifiedAtAfter: $modifiedAtAfter, invoiceNumber: $invoiceNumber, sort: [MODIFIED_AT_ASC]) {{
      pageInfo {{ currentPage totalPages }}
      edges {{ node {{ {INVOICE_FIELDS} }} }}
    }}
  }}
}}
""",
}
LIST_FIELDS = {"customer": "customers", "item": "products", "invoice": "invoices"}
FETCH_QUERIES = {
    "customer": f"query Customer($businessId: ID!, $id: ID!) {{ business(id: $businessId) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }} }}",
    "item": f"query Product($businessId: ID!, $id: ID!) {{ business(id: $businessId) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }} }}",
    "invoice": f"query Invoice($businessId: ID!, $id: ID!) {{ business(id: $businessId) {{ invoice(id: $id) {{ {INVOICE_FIELDS} }} }} }}",
    "payment": f"query InvoicePayment($businessId: ID!, $id: ID!) {{ business(id: $businessId) {{ invoicePayment(id: $id) {{ {PAYMENT_FIELDS} invoice {{ id customer {{ id }} }} }} }} }}",
}
FETCH_FIELDS = {"customer": "customer", "item": "product", "invoice": "invoice", "payment": "invoicePayment"}

# Every document the adapter sends, for the contract test.
DOCUMENTS = {
    **MUTATIONS,
    "Business": BUSINESS_QUERY,
    "Businesses": BUSINESSES_QUERY,
    "IncomeAccounts": ACCOUNTS_QUERY,
    "BankAccounts": BANK_ACCOUNTS_QUERY,
    **{f"list:{kind}": query for kind, query in LIST_QUERIES.items()},
    **{f"fetch:{kind}": query for kind, query in FETCH_QUERIES.items()},
}

PAYMENT_METHODS = {
    "cash": "CASH",
    "check": "CHEQUE",
    "cheque": "CHEQUE",
    "card": "CREDIT_CARD",
    "credit_card": "CREDIT_CARD",
    "bank": "BANK_TRANSFER",
    "bank_transfer": "BANK_TRANSFER",
    "ach": "BANK_TRANSFER",
}
OPEN_STATUSES = {"DRAFT"}


class WaveAdapter(HttpAdapter):
    name = "wave"
    display_name = "Wave"
    batch_sizes = {}  # no batch mutations
    # Wave publishes no limits (about 60 a minute is reported, UNCONFIRMED). We stay under that at
    # 50 a minute, at most 2 a second and 2 in flight, and honour any 429 through the throttle.
    limits = (Limit("any", 2, 1), Limit("any", 50, 60))
    max_in_flight = 2
    requires_income_account = True
    default_retry_after = 60.0

    def _is_auth_failure(self, response):
        # Wave can answer 200 with errors[].extensions.code UNAUTHENTICATED.
        if response.status_code != 200 or b"UNAUTHENTICATED" not in (response.content or b""):
            return False
        try:
            errors = response.json().get("errors") or []
        except ValueError:
            return False
        return any(((e or {}).get("extensions") or {}).get("code") == "UNAUTHENTICATED" for e in errors)

    def graphql(self, document, variables=None, *, kind):
        """`data` of a GraphQL answer. GraphQL errors raise: NOT_FOUND -> NotFound, internal ->
        TransientError, anything else -> ProviderError (permanent: the document or input is wrong)."""
        answer = self._send(
            "POST",
            self.config.api_url,
            kind=kind,
            json_body={"query": document, "variables": variables or {}},
            allow_statuses=(400,),
        )
        body = answer.data if isinstance(answer.data, dict) else None
        if body is None:
            raise MalformedResponse(
                "Wave answered without a GraphQL body.", provider=self.name, status=answer.status, body=answer.data
            )
        errors = body.get("errors") or []
        if errors:
            codes = {str(((e or {}).get("extensions") or {}).get("code") or "") for e in errors}
            text = "; ".join(one_line((e or {}).get("message")) for e in errors)
            if "NOT_FOUND" in codes:
                raise NotFound(f"Wave could not find it: {text}", provider=self.name, code="NOT_FOUND", body=body)
            if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}:
                raise TransientError(
                    f"Wave is having trouble: {text}", provider=self.name, code=",".join(sorted(codes)), body=body
                )
            raise ProviderError(
                f"Wave refused the request: {text}",
                provider=self.name,
                code=",".join(sorted(c for c in codes if c)),
                status=answer.status,
                body=body,
            )
        if not isinstance(body.get("data"), dict):
            raise MalformedResponse("Wave answered without data.", provider=self.name, status=answer.status, body=body)
        return body["data"]

    # --- company and reference data -------------------------------------------------------------

    def company(self):
        business = self.graphql(BUSINESS_QUERY, {"businessId": self.company_id}, kind="business").get("business")
        if not business:
            raise NotFound("Wave has no such business.", provider=self.name)
        return Company(id=str(business["id"]), name=business.get("name") or "", details=business)

    def businesses(self):
        companies, page = [], 1
        while True:
            connection = self.graphql(BUSINESSES_QUERY, {"page": page}, kind="business").get("businesses") or {}
            for edge in connection.get("edges") or []:
                node = edge.get("node") or {}
                companies.append(Company(id=str(node.get("id")), name=node.get("name") or "", details=node))
            if page >= int((connection.get("pageInfo") or {}).get("totalPages") or 1):
                return companies
            page += 1

    def income_accounts(self):
        return self._accounts(ACCOUNTS_QUERY, default_type="INCOME")

    def bank_accounts(self):
        """Active Cash & Bank accounts, in Wave's order; `remote_id` is the account id that
        `paymentAccountId` takes."""
        return [account for account in self._accounts(BANK_ACCOUNTS_QUERY, default_type="CASH_AND_BANK") if account.active]

    def _accounts(self, document, *, default_type):
        accounts, page = [], 1
        while True:
            business = self.graphql(document, {"businessId": self.company_id, "page": page}, kind="account").get("business") or {}
            connection = business.get("accounts") or {}
            for edge in connection.get("edges") or []:
                node = edge.get("node") or {}
                accounts.append(
                    Account(
                        remote_id=str(node.get("id")),
                        name=node.get("name") or "",
                        code=node.get("displayId") or "",
                        account_type=(node.get("subtype") or {}).get("value") or default_type,
                        active=not node.get("isArchived", False),
                    )
                )
            if page >= int((connection.get("pageInfo") or {}).get("totalPages") or 1):
                return accounts
            page += 1

    # --- reads ----------------------------------------------------------------------------------

    def fetch(self, kind, remote_id):
        business = (
            self.graphql(FETCH_QUERIES[kind], {"businessId": self.company_id, "id": remote_id}, kind=kind).get("business") or {}
        )
        node = business.get(FETCH_FIELDS[kind])
        if not node:
            raise NotFound(f"Wave has no {kind} {remote_id}.", provider=self.name)
        if kind == "payment":
            invoice = node.get("invoice") or {}
            return _payment_record(
                node, invoice_id=str(invoice.get("id") or ""), customer_id=str((invoice.get("customer") or {}).get("id") or "")
            )
        return _record(kind, node)

    def find(self, kind, data, *, local_id=None):
        """Customers by name (narrowed by email), products by name, invoices by number, payments by
        invoice, date and amount."""
        if kind == "payment":
            invoice = self.fetch("invoice", data.invoice_remote_id)
            for payment in (invoice.raw or {}).get("payments") or []:
                record = _payment_record(payment, invoice_id=invoice.remote_id, customer_id=invoice.data.customer_remote_id)
                if record.data.amount == data.amount and record.data.date == data.date:
                    return record
            return None
        filters = {}
        if kind == "customer" and data.email:
            filters["email"] = data.email
        if kind == "invoice":
            filters["invoiceNumber"] = data.number
        for record in self._list(kind, filters):
            if kind == "customer" and record.data.display_name.lower() == data.display_name.lower():
                return record
            if kind == "item" and record.data.name.lower() == data.name.lower():
                return record
            if kind == "invoice" and record.number == data.number:
                return record
        return None

    def changed(self, kind, since):
        """Customers, products and invoices with `modifiedAtAfter`; payments are read per changed
        invoice (Wave lists them nowhere else)."""
        filters = {"modifiedAtAfter": _wave_time(since)} if since else {}
        if kind == "payment":
            for invoice in self._list("invoice", filters):
                for payment in (invoice.raw or {}).get("payments") or []:
                    yield _payment_record(payment, invoice_id=invoice.remote_id, customer_id=invoice.data.customer_remote_id)
            return
        yield from self._list(kind, filters)

    def _list(self, kind, filters):
        page = 1
        while True:
            variables = {"businessId": self.company_id, "page": page, **filters}
            business = self.graphql(LIST_QUERIES[kind], variables, kind=kind).get("business") or {}
            connection = business.get(LIST_FIELDS[kind]) or {}
            for edge in connection.get("edges") or []:
                yield _record(kind, edge.get("node") or {})
            if page >= int((connection.get("pageInfo") or {}).get("totalPages") or 1):
                return
            page += 1

    # --- writes ---------------------------------------------------------------------------------

    def push_one(self, kind, request):
        """One record. A sent invoice is created, then approved and marked sent; when a later step
        fails the result carries the created invoice's `remote_id` with the error, so the caller
        links it and the next push (an update) finishes the job instead of creating a second one."""
        started = time.monotonic()
        data = request.data
        refusal = self._refusal(kind, request)
        if refusal:
            return PushResult(local_id=request.local_id, ok=False, error=refusal)
        name, variables = self._mutation_for(kind, request)
        node, error = self._mutate(name, variables, kind=kind, data=data)
        if error:
            return PushResult(local_id=request.local_id, ok=False, error=error, request=variables, duration_ms=_ms(started))
        remote_id = str(node.get("id") or "")
        if kind == "invoice" and data.status in ("SENT", "PAID") and node.get("status") in OPEN_STATUSES:
            try:
                for step, step_variables in (
                    ("invoiceApprove", {"input": {"invoiceId": remote_id}}),
                    ("invoiceMarkSent", {"input": {"invoiceId": remote_id, "sendMethod": "MARKED_SENT"}}),
                ):
                    _, step_error = self._mutate(step, step_variables, kind=kind, data=data)
                    if step_error:
                        return PushResult(
                            local_id=request.local_id,
                            ok=False,
                            remote_id=remote_id,
                            error=step_error,
                            request=variables,
                            response=node,
                            duration_ms=_ms(started),
                        )
            except ProviderError as exc:
                return PushResult(
                    local_id=request.local_id,
                    ok=False,
                    remote_id=remote_id,
                    error=exc,
                    request=variables,
                    response=node,
                    duration_ms=_ms(started),
                )
        record = (
            _payment_record(node, invoice_id=str(data.invoice_remote_id), customer_id="")
            if kind == "payment"
            else _record(kind, node)
        )
        return PushResult(
            local_id=request.local_id,
            ok=True,
            remote_id=remote_id,
            remote_version=str(node.get("modifiedAt") or ""),
            remote_number=record.number,
            request=variables,
            response=node,
            duration_ms=_ms(started),
        )

    def _mutate(self, name, variables, *, kind, data):
        """(node, None) on success; (None, RecordRejected) when Wave says didSucceed false."""
        try:
            result = self.graphql(MUTATIONS[name], variables, kind=kind).get(name)
        except NotFound as exc:
            return None, NotFound(
                f"Wave rejected {describe(kind, data)}: it no longer exists in Wave", provider=self.name, body=exc.body
            )
        except ProviderError as exc:
            if exc.permanent and not isinstance(exc, MalformedResponse):
                message = exc.message.replace("Wave refused the request", f"Wave rejected {describe(kind, data)}")
                return None, RecordRejected(message, provider=self.name, code=exc.code, body=exc.body)
            raise
        if not isinstance(result, dict):
            raise MalformedResponse(f"Wave answered {name} without a result.", provider=self.name)
        if not result.get("didSucceed"):
            errors = result.get("inputErrors") or []
            text = "; ".join(_input_error(e) for e in errors) or "no reason given"
            code = ",".join(str(e.get("code") or "") for e in errors if e.get("code"))
            return None, RecordRejected(
                f"Wave rejected {describe(kind, data)}: {text}", provider=self.name, code=code, body=result
            )
        node = result.get(RESULT_FIELDS[name])
        if not isinstance(node, dict) or not node.get("id"):
            raise MalformedResponse(f"Wave answered {name} without the record.", provider=self.name, body=result)
        return node, None

    def _refusal(self, kind, request):
        data = request.data
        problem = None
        if kind == "customer":
            problem = forbidden_name_problem(data.display_name, max_length=255)
        elif kind == "item":
            problem = forbidden_name_problem(data.name, max_length=255)
            if not problem and not data.income_account_id:
                problem = "it needs an income account (map one in Settings → Integrations)"
        elif kind == "invoice":
            if not data.customer_remote_id:
                problem = "its customer is not in Wave yet"
            elif not data.lines or any(not line.item_remote_id for line in data.lines):
                problem = "every line needs a product that is already in Wave"
        elif kind == "payment":
            if request.remote_id:
                problem = "a payment already recorded in Wave cannot be changed from here; edit it in Wave"
            elif not data.invoice_remote_id:
                problem = "its invoice is not in Wave yet"
            elif not data.deposit_account_id:
                problem = "choose the account payments are deposited to in Settings → Integrations"
            elif data.amount <= 0:
                problem = "the amount must be more than zero"
        return refused_before_sending(self.display_name, provider=self.name, kind=kind, data=data, problem=problem)

    def _mutation_for(self, kind, request):
        data = request.data
        remote_id = request.remote_id
        if kind == "customer":
            fields = {"name": data.display_name, "email": data.email, "phone": data.phone}
            address = _address(data)
            if address:
                fields["address"] = address
            if remote_id:
                return "customerPatch", {"input": {"id": remote_id, **fields}}
            return "customerCreate", {"input": {"businessId": self.company_id, **fields}}
        if kind == "item":
            fields = {
                "name": data.name,
                "description": data.description,
                "unitPrice": str(data.unit_price),
                "incomeAccountId": data.income_account_id,
            }
            if remote_id:
                return "productPatch", {"input": {"id": remote_id, **fields}}
            return "productCreate", {"input": {"businessId": self.company_id, **fields}}
        if kind == "invoice":
            fields = {
                "customerId": data.customer_remote_id,
                "invoiceNumber": data.number,
                "invoiceDate": data.issue_date.isoformat(),
                "dueDate": data.due_date.isoformat(),
                "currency": data.currency,
                "memo": data.notes,
                "items": [
                    {
                        "productId": line.item_remote_id,
                        "description": line.description,
                        "quantity": str(line.quantity),
                        "unitPrice": str(line.unit_price),
                    }
                    for line in data.lines
                ],
            }
            if remote_id:
                return "invoicePatch", {"input": {"id": remote_id, **fields}}
            return "invoiceCreate", {"input": {"businessId": self.company_id, "status": "DRAFT", **fields}}
        # payment
        return "invoicePaymentCreateManual", {
            "input": {
                "invoiceId": data.invoice_remote_id,
                "paymentAccountId": data.deposit_account_id,
                "amount": money(data.amount),
                "paymentDate": data.date.isoformat(),
                "paymentMethod": PAYMENT_METHODS.get((data.method or "").lower(), "OTHER"),
                "exchangeRate": "1",
                "memo": data.reference,
            }
        }

    # --- webhooks -------------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, *, body, headers, secret):
        """Wave sends no webhooks: nothing claiming to be one is genuine."""
        return False


# --- helpers ---------------------------------------------------------------------------------------


def _ms(started):
    return int((time.monotonic() - started) * 1000)


def _wave_time(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _address(data):
    address = {
        "addressLine1": data.billing_line1,
        "addressLine2": data.billing_line2,
        "city": data.billing_city,
        "postalCode": data.billing_postal_code,
    }
    country = (data.billing_country or "").strip().upper()
    # countryCode is an enum of ISO 3166-1 alpha-2 codes and provinceCode an ISO 3166-2 code:
    # send them only when ours are codes, never a guess from a free-text name.
    if len(country) == 2 and country.isalpha():
        address["countryCode"] = country
        region = (data.billing_region or "").strip().upper()
        if region:
            address["provinceCode"] = region if "-" in region else f"{country}-{region}"
    return {k: v for k, v in address.items() if v}


def _input_error(error):
    message = one_line((error or {}).get("message") or "")
    path = [p for p in (error or {}).get("path") or [] if p != "input"]
    if path and path[-1] not in message:
        return f"{'.'.join(path)}: {message}"
    return message


def _record(kind, node):
    record = RemoteRecord(
        kind=kind,
        remote_id=str(node.get("id") or ""),
        version=str(node.get("modifiedAt") or ""),
        updated_at=parse_datetime(node.get("modifiedAt")),
        deleted=bool(node.get("isArchived")),
        raw=node,
    )
    if kind == "customer":
        address = node.get("address") or {}
        province = (address.get("province") or {}).get("code") or ""
        country = (address.get("country") or {}).get("code") or ""
        record.data = CustomerData(
            display_name=node.get("name") or "",
            email=node.get("email") or "",
            phone=node.get("phone") or "",
            billing_line1=address.get("addressLine1") or "",
            billing_line2=address.get("addressLine2") or "",
            billing_city=address.get("city") or "",
            billing_region=province.split("-", 1)[-1] if province else "",
            billing_postal_code=address.get("postalCode") or "",
            billing_country=country,
            active=not node.get("isArchived", False),
        )
    elif kind == "item":
        record.data = ItemData(
            name=node.get("name") or "",
            description=node.get("description") or "",
            unit_price=decimal_or_zero(node.get("unitPrice")),
            active=not node.get("isArchived", False),
            income_account_id=str((node.get("incomeAccount") or {}).get("id") or ""),
        )
    elif kind == "invoice":
        status = node.get("status") or ""
        ours = {"DRAFT": "DRAFT", "PAID": "PAID", "OVERPAID": "PAID"}.get(status, "SENT")
        record.number = node.get("invoiceNumber") or ""
        record.data = InvoiceData(
            number=record.number,
            customer_remote_id=str((node.get("customer") or {}).get("id") or ""),
            issue_date=parse_date(node.get("invoiceDate")),
            due_date=parse_date(node.get("dueDate")) or parse_date(node.get("invoiceDate")),
            lines=[
                LineData(
                    item_remote_id=str((line.get("product") or {}).get("id") or ""),
                    description=line.get("description") or "",
                    quantity=decimal_or_zero(line.get("quantity") or 1),
                    unit_price=decimal_or_zero(line.get("unitPrice")),
                )
                for line in node.get("items") or []
            ],
            status=ours,
            currency=(node.get("currency") or {}).get("code") or "USD",
            notes=node.get("memo") or "",
            total=decimal_or_zero((node.get("total") or {}).get("value")),
        )
    return record


def _payment_record(node, *, invoice_id, customer_id):
    return RemoteRecord(
        kind="payment",
        remote_id=str(node.get("id") or ""),
        version=str(node.get("modifiedAt") or ""),
        updated_at=parse_datetime(node.get("modifiedAt")),
        raw=node,
        invoice_remote_id=invoice_id,
        data=PaymentData(
            invoice_remote_id=invoice_id,
            customer_remote_id=customer_id,
            amount=decimal_or_zero(node.get("amount")),
            date=parse_date(node.get("paymentDate")),
            method=str(node.get("paymentMethod") or "other").lower(),
            reference=node.get("memo") or "",
            deposit_account_id=str((node.get("account") or {}).get("id") or ""),
        ),
    )
