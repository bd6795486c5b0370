"""Xero Accounting API adapter.

Facts it relies on (../shared/providers/FACTS.md, xero_accounting.yaml): base `{api_url}/api.xro/2.0`,
header `xero-tenant-id` on every call (`company_id` is the tenant id); writes are arrays (about 50 a
request) sent with `summarizeErrors=false`, so the answer is 200 with each element's own
`StatusAttributeString` and `ValidationErrors`; an `Idempotency-Key` (<= 128) on every write; dates
come as `/Date(1573755038314+0000)/`; Items are not paged, other lists 100 a page.

Income accounts are identified by their Code (what `SalesDetails.AccountCode` and line items take),
so `Account.remote_id` is the Code.
"""

from __future__ import annotations

import datetime
import re
import time

from .base import (
    Account,
    AuthenticationFailed,
    BatchFailed,
    Company,
    CustomerData,
    DuplicateName,
    InvoiceData,
    ItemData,
    Limit,
    LineData,
    MalformedResponse,
    NotFound,
    PaymentData,
    PushResult,
    RateLimited,
    RecordRejected,
    RemoteRecord,
    TransientError,
)
from .http import (
    HttpAdapter,
    combined_key,
    decimal_or_zero,
    describe,
    forbidden_name_problem,
    header,
    hmac_signature_matches,
    one_line,
    parse_date,
    parse_retry_after,
    refused_before_sending,
    short_key,
)

COLLECTIONS = {"item": "Items", "customer": "Contacts", "invoice": "Invoices", "payment": "Payments"}
ID_FIELDS = {"item": "ItemID", "customer": "ContactID", "invoice": "InvoiceID", "payment": "PaymentID"}
PAGED = {"customer", "invoice", "payment"}
PAGE_SIZE = 100
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DUPLICATE = re.compile(r"already (exists|assigned|been used|in use)|must be unique|is not unique|duplicate", re.I)
DATE_JSON = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


class XeroAdapter(HttpAdapter):
    name = "xero"
    display_name = "Xero"
    # Xero recommends about 50 elements a write request (at most 3.5 MB).
    batch_sizes = {"item": 50, "customer": 50, "invoice": 50, "payment": 50}
    # developer.xero.com/documentation/oauth2/limits: 60 calls a minute, 5,000 a day, 5 in flight,
    # per organisation.
    limits = (Limit("any", 60, 60), Limit("any", 5000, 86400))
    max_in_flight = 5
    requires_income_account = True
    # Xero always sends Retry-After with a 429; this is only for an answer that does not.
    default_retry_after = 60.0

    @property
    def base(self):
        return f"{self.config.api_url}/api.xro/2.0"

    def _headers(self, token):
        return {"Authorization": f"Bearer {token}", "Accept": "application/json", "xero-tenant-id": str(self.company_id)}

    def _retry_after(self, response):
        problem = response.headers.get("X-Rate-Limit-Problem", "")
        return parse_retry_after(response.headers.get("Retry-After"), self.default_retry_after), problem

    def _error_for(self, answer):
        data = answer.data if isinstance(answer.data, dict) else {}
        message = one_line(data.get("Message") or data.get("Detail") or data.get("Title") or "")
        if answer.status == 403:
            error = AuthenticationFailed(
                f"Xero refused access to this organisation{': ' + message if message else ''}.",
                provider=self.name,
                status=403,
                body=answer.data,
            )
            error.permanent = True
            return error
        if answer.status == 404:
            return NotFound(
                f"Xero could not find it{': ' + message if message else ''}.", provider=self.name, status=404, body=answer.data
            )
        details = _validation_messages(data) or ([message] if message else [])
        return RecordRejected(
            f"Xero refused the request: {'; '.join(details) or 'HTTP ' + str(answer.status)}",
            provider=self.name,
            code=str(data.get("ErrorNumber") or ""),
            status=answer.status,
            body=answer.data,
        )

    def _get(self, path, *, kind, params=None, headers=None):
        return self._send("GET", f"{self.base}/{path}", kind=kind, params=params, headers=headers).data or {}

    # --- company and reference data -------------------------------------------------------------

    def company(self):
        data = self._get("Organisation", kind="organisation")
        organisations = data.get("Organisations") or []
        org = organisations[0] if organisations else {}
        return Company(id=str(self.company_id), name=org.get("Name") or org.get("LegalName") or "", details=org)

    def connections(self):
        """The tenants the grant reaches ({tenantId, tenantName, ...}), from `{api_url}/connections`."""
        return self._send("GET", f"{self.config.api_url}/connections", kind="connections").data or []

    def income_accounts(self):
        """Accounts of Class REVENUE (filtered here: the API's where clause is not needed for it)."""
        accounts = []
        for row in self._get("Accounts", kind="account").get("Accounts") or []:
            if row.get("Class") != "REVENUE":
                continue
            accounts.append(
                Account(
                    remote_id=str(row.get("Code") or row.get("AccountID") or ""),
                    name=row.get("Name") or "",
                    code=row.get("Code") or "",
                    account_type=row.get("Type") or "REVENUE",
                    active=row.get("Status", "ACTIVE") == "ACTIVE",
                )
            )
        return accounts

    def bank_accounts(self):
        """Where payments can be deposited: active accounts of Type BANK, then other active accounts
        with EnablePaymentsToAccount (Xero accepts a payment into either), each in Xero's order.
        `remote_id` is the AccountID: a bank account need not have a Code, and a Code can be edited
        in Xero while the AccountID stays."""
        banks, enabled = [], []
        for row in self._get("Accounts", kind="account").get("Accounts") or []:
            if row.get("Status", "ACTIVE") != "ACTIVE":
                continue
            is_bank = row.get("Type") == "BANK"
            if not is_bank and str(row.get("EnablePaymentsToAccount")).lower() != "true":
                continue
            remote_id = str(row.get("AccountID") or row.get("Code") or "")
            if not remote_id:
                continue
            account = Account(
                remote_id=remote_id,
                name=row.get("Name") or "",
                code=row.get("Code") or "",
                account_type=row.get("Type") or "",
            )
            (banks if is_bank else enabled).append(account)
        return banks + enabled

    # --- reads ----------------------------------------------------------------------------------

    def fetch(self, kind, remote_id):
        collection = COLLECTIONS[kind]
        rows = self._get(f"{collection}/{remote_id}", kind=kind).get(collection) or []
        if not rows:
            raise NotFound(f"Xero has no {kind} {remote_id}.", provider=self.name, status=404)
        return _record(kind, rows[0])

    def find(self, kind, data, *, local_id=None):
        """Items by Code, contacts by ContactNumber (when `local_id` is given) then Name, invoices by
        InvoiceNumber, payments by invoice, date and amount."""
        collection = COLLECTIONS[kind]
        if kind == "payment":
            where = f'Invoice.InvoiceID==guid("{data.invoice_remote_id}")'
            for row in self._get(collection, kind=kind, params={"where": where}).get(collection) or []:
                record = _record(kind, row)
                if record.data.amount == data.amount and record.data.date == data.date:
                    return record
            return None
        candidates = []
        if kind == "item":
            candidates = [("Code", item_code(data))]
        elif kind == "customer":
            if local_id is not None:
                candidates.append(("ContactNumber", contact_number(local_id)))
            candidates.append(("Name", data.display_name))
        elif kind == "invoice":
            candidates = [("InvoiceNumber", data.number)]
        for field, value in candidates:
            where = f'{field}=="{escape_where(value)}"'
            for row in self._get(collection, kind=kind, params={"where": where}).get(collection) or []:
                if str(row.get(field, "")).lower() == str(value).lower():
                    return _record(kind, row)
        return None

    def changed(self, kind, since):
        """If-Modified-Since (UTC, to the second), page by page where Xero pages."""
        collection = COLLECTIONS[kind]
        headers = {"If-Modified-Since": _http_time(since)} if since else None
        if kind not in PAGED:
            for row in self._get(collection, kind=kind, headers=headers).get(collection) or []:
                yield _record(kind, row)
            return
        page = 1
        while True:
            rows = self._get(collection, kind=kind, params={"page": page}, headers=headers).get(collection) or []
            for row in rows:
                yield _record(kind, row)
            if len(rows) < PAGE_SIZE:
                return
            page += 1

    # --- writes ---------------------------------------------------------------------------------

    def push_batch(self, kind, requests):
        """Up to 50 records in one request with `summarizeErrors=false`; each element's result maps
        back to its record. The Idempotency-Key is a hash of the records' keys. RateLimited and
        ReconnectRequired propagate; any other failure of the whole request raises BatchFailed."""
        if len(requests) > self.batch_size(kind):
            raise ValueError(f"At most {self.batch_size(kind)} {kind} records in one Xero request")
        started = time.monotonic()
        results = [None] * len(requests)
        sent = []
        for index, request in enumerate(requests):
            refusal = self._refusal(kind, request)
            if refusal:
                results[index] = PushResult(local_id=request.local_id, ok=False, error=refusal)
            else:
                sent.append((index, self._body(kind, request)))
        if not sent:
            return results
        keys = [requests[index].idempotency_key for index, _ in sent]
        key = combined_key(keys, 128) if all(keys) else ""
        try:
            rows = self._write(kind, [body for _, body in sent], key, throttle_kind="batch" if len(sent) > 1 else "single")
        except RateLimited:
            raise
        except (TransientError, AuthenticationFailed, RecordRejected) as exc:
            raise BatchFailed(
                f"The Xero request with {len(sent)} {kind} records failed: {exc}", cause=exc, provider=self.name
            ) from exc
        duration = int((time.monotonic() - started) * 1000 / len(sent))
        for position, (index, body) in enumerate(sent):
            row = rows[position] if position < len(rows) else None
            results[index] = self._result(kind, requests[index], body, row, duration)
        return results

    def push_one(self, kind, request):
        started = time.monotonic()
        refusal = self._refusal(kind, request)
        if refusal:
            return PushResult(local_id=request.local_id, ok=False, error=refusal)
        body = self._body(kind, request)
        key = short_key(request.idempotency_key, 128) if request.idempotency_key else ""
        try:
            rows = self._write(kind, [body], key, throttle_kind="single")
        except RecordRejected as exc:
            return PushResult(local_id=request.local_id, ok=False, error=self._labelled(kind, request.data, exc), request=body)
        duration = int((time.monotonic() - started) * 1000)
        return self._result(kind, request, body, rows[0] if rows else None, duration)

    def _write(self, kind, bodies, key, *, throttle_kind):
        """Send the elements; returns the answer's elements in order. A 400 that still lists the
        elements (each with its ValidationErrors) is returned like a 200."""
        collection = COLLECTIONS[kind]
        # Payments cannot be updated (only created, or deleted); everything else is POST, which
        # creates or updates by ID.
        method = "PUT" if kind == "payment" else "POST"
        headers = {"Idempotency-Key": key} if key else None
        answer = self._send(
            method,
            f"{self.base}/{collection}",
            kind=kind,
            throttle_kind=throttle_kind,
            params={"summarizeErrors": "false"},
            json_body={collection: bodies},
            headers=headers,
            allow_statuses=(400,),
        )
        data = answer.data if isinstance(answer.data, dict) else {}
        rows = data.get(collection)
        if rows is None and answer.status == 400:
            rows = [element for element in data.get("Elements") or [] if isinstance(element, dict)]
            if not rows:
                raise self._error_for(answer)
        if not isinstance(rows, list):
            raise MalformedResponse(
                f"Xero answered without the {collection}.", provider=self.name, status=answer.status, body=answer.data
            )
        return rows

    def _result(self, kind, request, body, row, duration):
        if not isinstance(row, dict):
            error = MalformedResponse("Xero did not answer for this record.", provider=self.name)
            return PushResult(local_id=request.local_id, ok=False, error=error, request=body, duration_ms=duration)
        messages = [one_line(m) for m in _element_errors(row)]
        failed = row.get("StatusAttributeString") == "ERROR" or row.get("HasErrors") or row.get("HasValidationErrors") or messages
        if failed:
            label = describe(kind, request.data)
            text = "; ".join(messages) or "no reason given"
            cls = DuplicateName if DUPLICATE.search(text) else RecordRejected
            error = cls(f"Xero rejected {label}: {text}", provider=self.name, code="ValidationError", body=row)
            return PushResult(local_id=request.local_id, ok=False, error=error, request=body, response=row, duration_ms=duration)
        remote_id = row.get(ID_FIELDS[kind])
        if not remote_id:
            error = MalformedResponse(f"Xero answered without the {kind}'s ID.", provider=self.name, body=row)
            return PushResult(local_id=request.local_id, ok=False, error=error, request=body, response=row, duration_ms=duration)
        return PushResult(
            local_id=request.local_id,
            ok=True,
            remote_id=str(remote_id),
            remote_version=str(row.get("UpdatedDateUTC") or ""),
            remote_number=str(row.get("InvoiceNumber") or row.get("Code") or row.get("ContactNumber") or ""),
            request=body,
            response=row,
            duration_ms=duration,
        )

    def _labelled(self, kind, data, exc):
        message = exc.message.replace("Xero refused the request", f"Xero rejected {describe(kind, data)}")
        cls = DuplicateName if DUPLICATE.search(message) else type(exc)
        return cls(message, provider=self.name, code=exc.code, status=exc.status, body=exc.body)

    def _refusal(self, kind, request):
        data = request.data
        problem = None
        if kind == "item":
            problem = forbidden_name_problem(item_code(data), max_length=30, label="item codes")
            if not problem:
                problem = forbidden_name_problem(data.name, max_length=50)
            if not problem and not data.income_account_id:
                problem = "it needs an income account (map one in Settings → Integrations)"
        elif kind == "customer":
            problem = forbidden_name_problem(data.display_name, max_length=255)
        elif kind == "invoice":
            problem = forbidden_name_problem(data.number, max_length=255, label="invoice numbers")
            if not problem and not data.customer_remote_id:
                problem = "its customer is not in Xero yet"
            if not problem and not data.lines:
                problem = "an invoice needs at least one line"
            if not problem and any(not line.income_account_id and not line.item_code for line in data.lines):
                problem = "every line needs an item or an income account"
        elif kind == "payment":
            if request.remote_id:
                problem = "Xero does not allow changing a recorded payment; delete it in Xero and record it again"
            elif not data.invoice_remote_id:
                problem = "its invoice is not in Xero yet"
            elif not data.deposit_account_id:
                problem = "choose the account payments are deposited to in Settings → Integrations"
            elif data.amount <= 0:
                problem = "the amount must be more than zero"
        return refused_before_sending(self.display_name, provider=self.name, kind=kind, data=data, problem=problem)

    def _body(self, kind, request):
        data = request.data
        if kind == "item":
            body = {
                "Code": item_code(data),
                "Name": data.name,
                "Description": data.description,
                "IsSold": True,
                "SalesDetails": {"UnitPrice": data.unit_price, "AccountCode": str(data.income_account_id)},
            }
        elif kind == "customer":
            body = {"Name": data.display_name, "ContactNumber": contact_number(request.local_id)}
            if data.email:
                body["EmailAddress"] = data.email
            if data.phone:
                body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": data.phone}]
            address = {
                "AddressLine1": data.billing_line1,
                "AddressLine2": data.billing_line2,
                "City": data.billing_city,
                "Region": data.billing_region,
                "PostalCode": data.billing_postal_code,
                "Country": data.billing_country,
            }
            address = {k: v for k, v in address.items() if v}
            if address:
                body["Addresses"] = [{"AddressType": "POBOX", **address}]
            body["ContactStatus"] = "ACTIVE" if data.active else "ARCHIVED"
        elif kind == "invoice":
            lines = []
            for line in data.lines:
                element = {
                    "Description": line.description or line.item_code or "Item",
                    "Quantity": line.quantity,
                    "UnitAmount": line.unit_price,
                }
                if line.item_code:
                    element["ItemCode"] = line.item_code
                if line.income_account_id:
                    element["AccountCode"] = str(line.income_account_id)
                lines.append(element)
            body = {
                "Type": "ACCREC",
                "Contact": {"ContactID": str(data.customer_remote_id)},
                "InvoiceNumber": data.number,
                "Date": data.issue_date.isoformat(),
                "DueDate": data.due_date.isoformat(),
                "LineAmountTypes": "Exclusive",
                "LineItems": lines,
                "Status": _invoice_status(data.status, updating=bool(request.remote_id)),
            }
            if data.currency:
                body["CurrencyCode"] = data.currency
            if data.notes:
                body["Reference"] = data.notes[:255]
        else:  # payment
            account_key = "AccountID" if GUID.match(str(data.deposit_account_id)) else "Code"
            body = {
                "Invoice": {"InvoiceID": str(data.invoice_remote_id)},
                "Account": {account_key: str(data.deposit_account_id)},
                "Date": data.date.isoformat(),
                "Amount": data.amount,
            }
            if data.reference:
                body["Reference"] = data.reference
        if request.remote_id:
            body[ID_FIELDS[kind]] = str(request.remote_id)
        return body

    # --- webhooks -------------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, *, body, headers, secret):
        """x-xero-signature = base64(HMAC-SHA256(webhook key, raw body))."""
        return hmac_signature_matches(body=body, secret=secret, signature=header(headers, "x-xero-signature"))


# --- helpers ---------------------------------------------------------------------------------------


def item_code(data):
    """Xero requires an item Code: ours, or the name when there is none."""
    return data.code or data.name


def contact_number(local_id):
    """Our customer's number in Xero: stable, so a contact can be found again after a lost answer."""
    return f"BC-{local_id}"


def escape_where(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


def _invoice_status(status, *, updating):
    if status == "DRAFT":
        return "DRAFT"
    if status == "VOID":
        return "VOIDED" if updating else "DRAFT"
    # SENT and PAID: approved in Xero; PAID comes from the payments we push, never set directly.
    return "AUTHORISED"


def _http_time(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _element_errors(row):
    messages = []
    for error in row.get("ValidationErrors") or []:
        if isinstance(error, dict) and error.get("Message"):
            messages.append(error["Message"])
    return messages


def _validation_messages(data):
    messages = []
    for element in data.get("Elements") or []:
        if isinstance(element, dict):
            messages.extend(_element_errors(element))
    return messages


def parse_xero_datetime(value):
    """`/Date(1573755038314+0000)/` (or ISO 8601) to an aware UTC datetime; None when absent."""
    if not value:
        return None
    match = DATE_JSON.search(str(value))
    if match:
        moment = datetime.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=datetime.UTC)
        return moment
    text = str(value).replace("Z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def parse_xero_date(value):
    moment = parse_xero_datetime(value) if value and "/Date(" in str(value) else None
    if moment is not None:
        # The milliseconds of a Xero date are midnight UTC of that day, whatever the offset says.
        return moment.date()
    return parse_date(value)


def _record(kind, row):
    remote_id = str(row.get(ID_FIELDS[kind]) or "")
    record = RemoteRecord(kind=kind, remote_id=remote_id, version=str(row.get("UpdatedDateUTC") or ""), raw=row)
    record.updated_at = parse_xero_datetime(row.get("UpdatedDateUTC"))
    if kind == "item":
        sales = row.get("SalesDetails") or {}
        record.number = row.get("Code") or ""
        record.data = ItemData(
            name=row.get("Name") or row.get("Code") or "",
            code=row.get("Code") or "",
            description=row.get("Description") or "",
            unit_price=decimal_or_zero(sales.get("UnitPrice")),
            active=True,
            income_account_id=str(sales.get("AccountCode") or ""),
        )
    elif kind == "customer":
        address = next(iter(row.get("Addresses") or []), {}) or {}
        for candidate in row.get("Addresses") or []:
            if candidate.get("AddressLine1") or candidate.get("City"):
                address = candidate
                break
        phone = ""
        for candidate in row.get("Phones") or []:
            if candidate.get("PhoneNumber"):
                phone = " ".join(p for p in (candidate.get("PhoneAreaCode"), candidate.get("PhoneNumber")) if p)
                break
        record.number = row.get("ContactNumber") or ""
        record.deleted = row.get("ContactStatus") == "ARCHIVED"
        record.data = CustomerData(
            display_name=row.get("Name") or "",
            email=row.get("EmailAddress") or "",
            phone=phone,
            billing_line1=address.get("AddressLine1") or "",
            billing_line2=address.get("AddressLine2") or "",
            billing_city=address.get("City") or "",
            billing_region=address.get("Region") or "",
            billing_postal_code=address.get("PostalCode") or "",
            billing_country=address.get("Country") or "",
            active=row.get("ContactStatus", "ACTIVE") == "ACTIVE",
        )
    elif kind == "invoice":
        status = row.get("Status", "")
        record.number = row.get("InvoiceNumber") or ""
        record.deleted = status in ("VOIDED", "DELETED")
        lines = [
            LineData(
                item_remote_id=str((line.get("Item") or {}).get("ItemID") or ""),
                description=line.get("Description") or "",
                quantity=decimal_or_zero(line.get("Quantity") or 1),
                unit_price=decimal_or_zero(line.get("UnitAmount")),
                item_code=line.get("ItemCode") or "",
                income_account_id=str(line.get("AccountCode") or ""),
            )
            for line in row.get("LineItems") or []
        ]
        ours = {"DRAFT": "DRAFT", "SUBMITTED": "DRAFT", "AUTHORISED": "SENT", "PAID": "PAID", "VOIDED": "VOID", "DELETED": "VOID"}
        record.data = InvoiceData(
            number=row.get("InvoiceNumber") or "",
            customer_remote_id=str((row.get("Contact") or {}).get("ContactID") or ""),
            issue_date=parse_xero_date(row.get("DateString") or row.get("Date")),
            due_date=parse_xero_date(row.get("DueDateString") or row.get("DueDate")),
            lines=lines,
            status=ours.get(status, "SENT"),
            currency=row.get("CurrencyCode") or "USD",
            notes=row.get("Reference") or "",
            total=decimal_or_zero(row.get("Total")),
        )
    elif kind == "payment":
        invoice = row.get("Invoice") or {}
        account = row.get("Account") or {}
        record.invoice_remote_id = str(invoice.get("InvoiceID") or "")
        record.deleted = row.get("Status") == "DELETED"
        record.data = PaymentData(
            invoice_remote_id=record.invoice_remote_id,
            customer_remote_id=str((invoice.get("Contact") or {}).get("ContactID") or ""),
            amount=decimal_or_zero(row.get("Amount")),
            date=parse_xero_date(row.get("Date")),
            reference=row.get("Reference") or "",
            currency=invoice.get("CurrencyCode") or "USD",
            deposit_account_id=str(account.get("Code") or account.get("AccountID") or ""),
        )
    return record
