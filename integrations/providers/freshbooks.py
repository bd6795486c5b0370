"""FreshBooks accounting API adapter.

Facts it relies on (../shared/providers/FACTS.md, the SDK fixtures in integrations/contracts/freshbooks):
paths under `{api_url}/accounting/account/{account_id}/` (`company_id` is the account id); one request
per record (no bulk endpoint); requests wrap the object (`{"client": {...}}`), answers come as
`{"response": {"result": {...}}}`; errors come as `{"response": {"errors": [...]}}` (sometimes with HTTP
200), or in the newer `{"code", "message", "details": [...]}` and `{"errors": {"details": [...]}}`
shapes; money is `{"amount": "10.00", "code": "USD"}`; paging at most 100 a page; `updated` times are
US/Eastern; items carry no income account.
"""

from __future__ import annotations

import datetime
import re
import time
import zoneinfo
from dataclasses import dataclass

from .base import (
    AuthenticationFailed,
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
    RecordRejected,
    RemoteRecord,
)
from .http import (
    HttpAdapter,
    decimal_or_zero,
    describe,
    forbidden_name_problem,
    header,
    hmac_signature_matches,
    money,
    one_line,
    parse_date,
    refused_before_sending,
)

PATHS = {"customer": "users/clients", "item": "items/items", "invoice": "invoices/invoices", "payment": "payments/payments"}
WRAPPERS = {"customer": "client", "item": "item", "invoice": "invoice", "payment": "payment"}
LISTS = {"customer": "clients", "item": "items", "invoice": "invoices", "payment": "payments"}
ID_FIELDS = {"customer": "id", "item": "id", "invoice": "id", "payment": "id"}
PER_PAGE = 100  # FreshBooks caps per_page at 100
EASTERN = zoneinfo.ZoneInfo("America/New_York")
NOT_FOUND_ERRNOS = {"1012", "1010", "1011", "1013", "1014", "1015", "1016"}
DUPLICATE = re.compile(r"already exists|already in use|must be unique|duplicate", re.I)
PAYMENT_TYPES = {
    "cash": "Cash",
    "check": "Check",
    "cheque": "Check",
    "card": "Credit Card",
    "credit_card": "Credit Card",
    "bank": "Bank Transfer",
    "bank_transfer": "Bank Transfer",
    "ach": "ACH",
    "paypal": "PayPal",
}


class FreshBooksAdapter(HttpAdapter):
    name = "freshbooks"
    display_name = "FreshBooks"
    batch_sizes = {}  # one request per record
    # FreshBooks publishes no limits and answers 429 when it is pushed too hard. We stay at two
    # requests a second, 100 a minute and 3 in flight: a guess on the safe side that still moves
    # 6,000 records an hour; a 429 that comes anyway is honoured by the shared throttle.
    limits = (Limit("any", 2, 1), Limit("any", 100, 60))
    max_in_flight = 3
    requires_income_account = False
    default_retry_after = 30.0

    @property
    def base(self):
        return f"{self.config.api_url}/accounting/account/{self.company_id}"

    def _headers(self, token):
        # FreshBooks answers 400 to some requests without a version header; Api-Version is what its SDKs send.
        return {"Authorization": f"Bearer {token}", "Accept": "application/json", "Api-Version": "alpha"}

    def _error_for(self, answer):
        errors = freshbooks_errors(answer.data)
        text = "; ".join(e["message"] for e in errors) or f"HTTP {answer.status}"
        errnos = {e["errno"] for e in errors}
        if answer.status == 403:
            error = AuthenticationFailed(f"FreshBooks refused access: {text}", provider=self.name, status=403, body=answer.data)
            error.permanent = True
            return error
        if answer.status == 404 or errnos & NOT_FOUND_ERRNOS:
            return NotFound(
                f"FreshBooks could not find it: {text}",
                provider=self.name,
                code=",".join(sorted(errnos)),
                status=answer.status,
                body=answer.data,
            )
        cls = DuplicateName if DUPLICATE.search(text) else RecordRejected
        return cls(
            f"FreshBooks refused the request: {text}",
            provider=self.name,
            code=",".join(sorted(errnos)),
            status=answer.status,
            body=answer.data,
        )

    def _call(self, method, path, *, kind, params=None, json_body=None):
        """The `result` of a FreshBooks call; errors in a 200 body raise like a 4xx."""
        answer = self._send(method, f"{self.base}/{path}", kind=kind, params=params, json_body=json_body)
        if freshbooks_errors(answer.data):
            raise self._error_for(answer)
        if answer.data is None and method == "DELETE":
            return {}
        return result_of(answer.data, provider=self.name)

    # --- company and reference data -------------------------------------------------------------

    def company(self):
        """The business of `company_id` from /auth/api/v1/users/me."""
        answer = self._send("GET", f"{self.config.api_url}/auth/api/v1/users/me", kind="identity")
        for business in self.businesses(answer.data):
            if str(business.id) == str(self.company_id):
                return business
        return Company(id=str(self.company_id), name="", details={})

    @staticmethod
    def businesses(identity):
        """Companies (account_id, name) in a users/me answer."""
        response = (identity or {}).get("response") or {}
        companies = []
        for membership in response.get("business_memberships") or []:
            business = (membership or {}).get("business") or {}
            if business.get("account_id"):
                companies.append(Company(id=str(business["account_id"]), name=business.get("name") or "", details=business))
        return companies

    def income_accounts(self):
        """FreshBooks items carry no income account: nothing to map."""
        return []

    # --- reads ----------------------------------------------------------------------------------

    def fetch(self, kind, remote_id):
        result = self._call("GET", f"{PATHS[kind]}/{remote_id}", kind=kind)
        row = result.get(WRAPPERS[kind])
        if not isinstance(row, dict):
            raise MalformedResponse(f"FreshBooks answered without the {kind}.", provider=self.name, body=result)
        return parse_record(kind, row)

    def find(self, kind, data, *, local_id=None):
        """Clients by organization/name, items by name, invoices by number, payments by invoice,
        date and amount. Filters narrow the search; the match is always checked here."""
        if kind == "customer":
            search = {"search[organization_like]": data.company or data.display_name}
        elif kind == "item":
            search = {"search[name]": data.name}
        elif kind == "invoice":
            search = {"search[invoice_number]": data.number}
        else:
            search = {"search[invoiceid]": data.invoice_remote_id}
        for record in self._list(kind, search):
            if _same(kind, record, data):
                return record
        return None

    def changed(self, kind, since):
        """Everything updated since `since`, asked from a day earlier: FreshBooks filters by day in
        US/Eastern time, so the overlap is on purpose and the caller dedupes by `updated_at`."""
        search = {}
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=datetime.UTC)
            day = since.astimezone(EASTERN).date() - datetime.timedelta(days=1)
            search["search[updated_min]"] = day.isoformat()
        yield from self._list(kind, search)

    def _list(self, kind, search):
        page = 1
        while True:
            params = {"page": page, "per_page": PER_PAGE, **search}
            if kind == "invoice":
                params["include[]"] = "lines"
            result = self._call("GET", PATHS[kind], kind=kind, params=params)
            for row in result.get(LISTS[kind]) or []:
                yield parse_record(kind, row)
            pages = int(result.get("pages") or 1)
            if page >= pages:
                return
            page += 1

    # --- writes ---------------------------------------------------------------------------------

    def push_one(self, kind, request):
        """Create (POST) or update (PUT) one record. FreshBooks has no idempotency key: the engine
        looks a record up after an uncertain failure."""
        started = time.monotonic()
        data = request.data
        refusal = self._refusal(kind, request)
        if refusal:
            return PushResult(local_id=request.local_id, ok=False, error=refusal)
        body = {WRAPPERS[kind]: self._body(kind, request)}
        try:
            if kind == "invoice" and request.remote_id and data.status == "VOID":
                # Invoices are deleted with HTTP DELETE (clients, items, payments with vis_state 1).
                self._call("DELETE", f"{PATHS[kind]}/{request.remote_id}", kind=kind)
                return PushResult(
                    local_id=request.local_id,
                    ok=True,
                    remote_id=str(request.remote_id),
                    remote_number=data.number,
                    request={"delete": True},
                )
            if request.remote_id:
                result = self._call("PUT", f"{PATHS[kind]}/{request.remote_id}", kind=kind, json_body=body)
            else:
                result = self._call("POST", PATHS[kind], kind=kind, json_body=body)
        except RecordRejected as exc:
            error = type(exc)(
                exc.message.replace("FreshBooks refused the request", f"FreshBooks rejected {describe(kind, data)}"),
                provider=self.name,
                code=exc.code,
                status=exc.status,
                body=exc.body,
            )
            return PushResult(local_id=request.local_id, ok=False, error=error, request=body)
        duration = int((time.monotonic() - started) * 1000)
        row = result.get(WRAPPERS[kind])
        if not isinstance(row, dict) or not row.get(ID_FIELDS[kind]):
            error = MalformedResponse(f"FreshBooks answered without the {kind}.", provider=self.name, body=result)
            return PushResult(
                local_id=request.local_id, ok=False, error=error, request=body, response=result, duration_ms=duration
            )
        record = parse_record(kind, row)
        return PushResult(
            local_id=request.local_id,
            ok=True,
            remote_id=record.remote_id,
            remote_version=str(row.get("updated") or ""),
            remote_number=record.number,
            request=body,
            response=row,
            duration_ms=duration,
        )

    def _refusal(self, kind, request):
        data = request.data
        problem = None
        if kind == "customer":
            problem = forbidden_name_problem(data.display_name, max_length=255)
        elif kind == "item":
            problem = forbidden_name_problem(data.name, max_length=255)
        elif kind == "invoice":
            if not data.customer_remote_id:
                problem = "its customer is not in FreshBooks yet"
            elif not data.lines:
                problem = "an invoice needs at least one line"
        elif kind == "payment":
            if not data.invoice_remote_id:
                problem = "its invoice is not in FreshBooks yet"
            elif data.amount <= 0:
                problem = "the amount must be more than zero"
        return refused_before_sending(self.display_name, provider=self.name, kind=kind, data=data, problem=problem)

    def _body(self, kind, request):
        data = request.data
        if kind == "customer":
            body = {"email": data.email, "bus_phone": data.phone}
            if data.company and data.company != data.display_name:
                first, _, last = data.display_name.partition(" ")
                body.update({"organization": data.company, "fname": first, "lname": last})
            else:
                body.update({"organization": data.display_name, "fname": "", "lname": ""})
            body.update(
                {
                    "p_street": data.billing_line1,
                    "p_street2": data.billing_line2,
                    "p_city": data.billing_city,
                    "p_province": data.billing_region,
                    "p_code": data.billing_postal_code,
                    "p_country": data.billing_country,
                    "vis_state": 0 if data.active else 1,
                }
            )
            return body
        if kind == "item":
            return {
                "name": data.name,
                "description": data.description,
                "sku": data.code or None,
                "unit_cost": {"amount": money(data.unit_price), "code": "USD"},
                "vis_state": 0 if data.active else 1,
            }
        if kind == "invoice":
            body = {
                "customerid": _int_or_str(data.customer_remote_id),
                "invoice_number": data.number,
                "create_date": data.issue_date.isoformat(),
                "due_offset_days": max(0, (data.due_date - data.issue_date).days),
                "currency_code": data.currency,
                "notes": data.notes,
                "lines": [
                    {
                        "type": 0,
                        "name": (line.item_code or line.description or "Item")[:255],
                        "description": line.description,
                        "qty": str(line.quantity),
                        "unit_cost": {"amount": money(line.unit_price), "code": data.currency},
                    }
                    for line in data.lines
                ],
            }
            if data.status in ("SENT", "PAID"):
                # FreshBooks' documented way to set an invoice to "sent" without emailing it.
                body["action_mark_as_sent"] = True
            return body
        # payment
        return {
            "invoiceid": _int_or_str(data.invoice_remote_id),
            "amount": {"amount": money(data.amount)},
            "date": data.date.isoformat(),
            "type": PAYMENT_TYPES.get((data.method or "").lower(), "Other"),
            "note": data.reference,
        }

    # --- webhooks -------------------------------------------------------------------------------
    # The callbacks API lives under /events/account/{account_id}/events/callbacks (not /accounting)
    # and answers errors in the newer `{"errno", "message", "details": [...]}` shape (SDK fixtures
    # create_callback_response__validation_error.json, get_callback_response__not_found.json).

    @property
    def callbacks_url(self):
        return f"{self.config.api_url}/events/account/{self.company_id}/events/callbacks"

    def _events_call(self, method, path="", *, params=None, json_body=None):
        answer = self._send(method, f"{self.callbacks_url}{path}", kind="webhook", params=params, json_body=json_body)
        if freshbooks_errors(answer.data):
            raise self._error_for(answer)
        if answer.data is None and method == "DELETE":  # 204 No Content
            return {}
        return result_of(answer.data, provider=self.name)

    def register_webhook(self, uri, event):
        """Create a callback (POST `{"callback": {"event", "uri"}}`) and return its id as text.
        FreshBooks then posts `name=callback.verify` with a verifier to `uri`. RecordRejected when
        FreshBooks refuses the event or the uri (422, the message names the field)."""
        result = self._events_call("POST", json_body={"callback": {"event": event, "uri": uri}})
        callback = parse_callback(result.get("callback"))
        if callback is None:
            raise MalformedResponse("FreshBooks answered without the callback.", provider=self.name, body=result)
        return callback.callback_id

    def webhook_callbacks(self):
        """Every callback of the account ([WebhookCallback], all pages)."""
        callbacks, page = [], 1
        while True:
            result = self._events_call("GET", params={"page": page, "per_page": PER_PAGE})
            callbacks += [c for c in map(parse_callback, result.get("callbacks") or []) if c is not None]
            if page >= int(result.get("pages") or 1):
                return callbacks
            page += 1

    def delete_webhook(self, callback_id):
        """Delete a callback; NotFound when it is already gone."""
        self._events_call("DELETE", f"/{callback_id}")

    def resend_webhook_verification(self, callback_id):
        """Ask FreshBooks to post the callback's verifier again (PUT `{"callback": {"resend": true}}`).
        FreshBooks sends nothing for a callback that is already verified."""
        self._events_call("PUT", f"/{callback_id}", json_body={"callback": {"resend": True}})

    def confirm_webhook(self, *, callback_id, verifier):
        """Send a callback's verifier back (PUT /events/account/{id}/events/callbacks/{callback_id} with
        `{"callback": {"verifier": ...}}`) so FreshBooks starts delivering; RecordRejected when FreshBooks
        refuses the verifier or answers that the callback is still unverified, NotFound when the callback
        is gone."""
        result = self._events_call("PUT", f"/{callback_id}", json_body={"callback": {"verifier": verifier}})
        if (result.get("callback") or {}).get("verified") is False:
            raise RecordRejected("FreshBooks did not accept the webhook verifier.", provider=self.name, body=result)

    @classmethod
    def verify_webhook(cls, *, body, headers, secret):
        """X-FreshBooks-Hmac-SHA256 = base64(HMAC-SHA256(verifier, body))."""
        return hmac_signature_matches(body=body, secret=secret, signature=header(headers, "X-FreshBooks-Hmac-SHA256"))


# --- parsing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookCallback:
    """One registered callback as FreshBooks lists it."""

    callback_id: str
    event: str
    uri: str
    verified: bool


def parse_callback(row):
    """A callback of the SDK fixtures' shape (`callbackid`, `event`, `uri`, `verified`), or None."""
    if not isinstance(row, dict) or row.get("callbackid") in (None, ""):
        return None
    return WebhookCallback(
        callback_id=str(row["callbackid"]),
        event=str(row.get("event") or ""),
        uri=str(row.get("uri") or ""),
        verified=row.get("verified") is True,
    )


def freshbooks_errors(data):
    """Errors in any of FreshBooks' shapes as [{"errno", "field", "message"}]; [] when none:
    `{"response": {"errors": [...]}}` (classic, also in HTTP 200), `{"code", "message", "details":
    [{metadata}]}` (gRPC style), `{"errors": {"message", "details"}}` and `{"errno", "message",
    "details": ["..."]}` (newer services)."""
    if not isinstance(data, dict):
        return []
    found = []
    response = data.get("response")
    if isinstance(response, dict) and isinstance(response.get("errors"), list):
        for error in response["errors"]:
            if isinstance(error, dict):
                found.append(
                    {
                        "errno": str(error.get("errno") or ""),
                        "field": error.get("field") or "",
                        "message": one_line(error.get("message") or ""),
                    }
                )
        return found
    if isinstance(data.get("errors"), dict):
        envelope = data["errors"]
    elif "response" not in data and ("errno" in data or ("code" in data and "details" in data)):
        envelope = data
    else:
        return []
    errno = str(envelope.get("errno") or "")
    for detail in envelope.get("details") or []:
        if isinstance(detail, str):
            found.append({"errno": errno, "field": detail.split(":", 1)[0] if ":" in detail else "", "message": one_line(detail)})
            continue
        if not isinstance(detail, dict):
            continue
        metadata = detail.get("metadata") or {}
        reason = str(detail.get("reason") or "")
        message = one_line(metadata.get("message") or reason)
        field = metadata.get("field") or ""
        found.append(
            {
                "errno": reason if reason.isdigit() else errno,
                "field": field,
                "message": f"{field}: {message}" if field and field not in message else message,
            }
        )
    if not found and envelope.get("message"):
        found.append({"errno": errno, "field": "", "message": one_line(envelope["message"])})
    return found


def result_of(data, *, provider="freshbooks"):
    """The `result` of an answer `{"response": {"result": {...}}}`; MalformedResponse otherwise."""
    response = (data or {}).get("response") if isinstance(data, dict) else None
    result = response.get("result") if isinstance(response, dict) else None
    if not isinstance(result, dict):
        raise MalformedResponse("FreshBooks answered without a result.", provider=provider, body=data)
    return result


def parse_updated(value):
    """FreshBooks `updated` ("2021-06-13 10:45:20", US/Eastern) as an aware datetime."""
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=EASTERN)
    return moment.astimezone(datetime.UTC)


def _money(value):
    if isinstance(value, dict):
        return decimal_or_zero(value.get("amount"))
    return decimal_or_zero(value)


def _int_or_str(value):
    text = str(value)
    return int(text) if text.isdigit() else text


def parse_record(kind, row):
    remote_id = str(row.get("id") if row.get("id") is not None else row.get(f"{WRAPPERS[kind]}id") or "")
    if kind == "customer":
        remote_id = str(row.get("id") or row.get("userid") or "")
    record = RemoteRecord(
        kind=kind,
        remote_id=remote_id,
        version=str(row.get("updated") or ""),
        updated_at=parse_updated(row.get("updated")),
        deleted=row.get("vis_state") in (1, 2, "1", "2"),
        raw=row,
    )
    if kind == "customer":
        person = " ".join(p for p in (row.get("fname"), row.get("lname")) if p).strip()
        organization = row.get("organization") or ""
        record.data = CustomerData(
            display_name=person or organization,
            company=organization if person else "",
            email=row.get("email") or "",
            phone=row.get("bus_phone") or row.get("mob_phone") or "",
            billing_line1=row.get("p_street") or "",
            billing_line2=row.get("p_street2") or "",
            billing_city=row.get("p_city") or "",
            billing_region=row.get("p_province") or "",
            billing_postal_code=row.get("p_code") or "",
            billing_country=row.get("p_country") or "",
            active=row.get("vis_state", 0) in (0, "0"),
        )
    elif kind == "item":
        record.number = row.get("sku") or ""
        record.data = ItemData(
            name=row.get("name") or "",
            code=row.get("sku") or "",
            description=row.get("description") or "",
            unit_price=_money(row.get("unit_cost")),
            active=row.get("vis_state", 0) in (0, "0"),
        )
    elif kind == "invoice":
        record.remote_id = str(row.get("id") or row.get("invoiceid") or "")
        record.number = row.get("invoice_number") or ""
        status = str(row.get("v3_status") or row.get("display_status") or "").lower()
        if status == "paid" or str(row.get("payment_status", "")).lower() == "paid":
            ours = "PAID"
        elif status in ("draft", "created"):
            ours = "DRAFT"
        else:
            ours = "SENT"
        amount = row.get("amount") or {}
        record.data = InvoiceData(
            number=record.number,
            customer_remote_id=str(row.get("customerid") or ""),
            issue_date=parse_date(row.get("create_date")),
            due_date=parse_date(row.get("due_date")) or parse_date(row.get("create_date")),
            lines=[
                LineData(
                    item_remote_id="",
                    description=line.get("description") or line.get("name") or "",
                    quantity=decimal_or_zero(line.get("qty") or 1),
                    unit_price=_money(line.get("unit_cost")),
                    item_code=line.get("name") or "",
                )
                for line in row.get("lines") or []
            ],
            status=ours,
            currency=row.get("currency_code") or (amount.get("code") if isinstance(amount, dict) else "") or "USD",
            notes=row.get("notes") or "",
            total=_money(amount),
        )
    elif kind == "payment":
        record.remote_id = str(row.get("id") or row.get("logid") or "")
        record.invoice_remote_id = str(row.get("invoiceid") or "")
        amount = row.get("amount") or {}
        record.data = PaymentData(
            invoice_remote_id=record.invoice_remote_id,
            customer_remote_id=str(row.get("clientid") or ""),
            amount=_money(amount),
            date=parse_date(row.get("date")),
            method=str(row.get("type") or "other").lower(),
            reference=row.get("note") or "",
            currency=(amount.get("code") if isinstance(amount, dict) else "") or "USD",
        )
    return record


def _same(kind, record, data):
    theirs = record.data
    if record.deleted or theirs is None:
        return False
    if kind == "customer":
        return theirs.display_name.lower() == data.display_name.lower() or (
            bool(data.company)
            and theirs.company.lower() == data.company.lower()
            and theirs.display_name.lower() == data.display_name.lower()
        )
    if kind == "item":
        return theirs.name.lower() == data.name.lower()
    if kind == "invoice":
        return theirs.number == data.number
    return record.invoice_remote_id == str(data.invoice_remote_id) and theirs.amount == data.amount and theirs.date == data.date
