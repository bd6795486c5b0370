"""QuickBooks Online (Accounting API v3) adapter.

Facts it relies on (../shared/providers/QUICKBOOKS.md): `minorversion=75` on every call; `POST /batch`
with at most 30 operations, each `bId` <= 10 characters and the batch's `requestid` <= 36; a single
write's `requestid` <= 50; updates carry `Id` + `SyncToken` and are sparse; Faults can come with HTTP
200 or 400; a throttled answer is XML (`ThrottleExceeded`) even when JSON was asked for, and says
"wait 60 seconds". `company_id` is the realm id.
"""

from __future__ import annotations

import datetime
import time
import xml.etree.ElementTree as ET
from decimal import Decimal

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
    StaleVersion,
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
    parse_datetime,
    refused_before_sending,
    short_key,
)

MINOR_VERSION = "75"
ENTITIES = {"item": "Item", "customer": "Customer", "invoice": "Invoice", "payment": "Payment"}
NAME_FORBIDDEN = ((":", "':'"), ("\t", "a tab"), ("\n", "a line break"), ("\r", "a line break"))
# Change Data Capture looks back at most 30 days and answers at most 1,000 objects.
CDC_MAX_AGE = datetime.timedelta(days=30)
CDC_MAX_OBJECTS = 1000
QUERY_PAGE = 1000


class QuickBooksAdapter(HttpAdapter):
    name = "quickbooks"
    display_name = "QuickBooks"
    # Intuit's "recommended maximum" is 30 operations a batch (one page says 10): a class setting.
    batch_sizes = {"item": 30, "customer": 30, "invoice": 30, "payment": 30}
    # developer.intuit.com limits-and-throttles: 40 batch requests and 500 requests a minute per realm,
    # 10 a second, 10 in flight.
    limits = (Limit("batch", 40, 60), Limit("any", 500, 60), Limit("any", 10, 1))
    max_in_flight = 10
    requires_income_account = True
    default_retry_after = 60.0

    @property
    def base(self):
        return f"{self.config.api_url}/company/{self.company_id}"

    # --- the wire -------------------------------------------------------------------------------

    def _params(self, **extra):
        return {"minorversion": MINOR_VERSION, **extra}

    def _decode(self, response):
        text = response.text if response.content else ""
        if _looks_like_intuit_xml(text):
            return _xml_fault(text)
        return super()._decode(response)

    def _is_throttled(self, response):
        if response.status_code == 429:
            return True
        # Older throttles answered 403 with the same ThrottleExceeded body.
        return response.status_code == 403 and "ThrottleExceeded" in (response.text or "")

    def _error_for(self, answer):
        fault = _fault_of(answer.data)
        if fault is not None:
            errors = _fault_errors(fault)
            codes = {e["code"] for e in errors}
            text = "; ".join(_error_text(e) for e in errors) or f"HTTP {answer.status}"
            if answer.status == 403 or codes & {"120", "3200", "3100"}:
                error = AuthenticationFailed(
                    f"QuickBooks refused access: {text}",
                    provider=self.name,
                    code=",".join(sorted(codes)),
                    status=answer.status,
                    body=answer.data,
                )
                error.permanent = True
                return error
            if "610" in codes or answer.status == 404:
                return NotFound(
                    f"QuickBooks could not find it: {text}",
                    provider=self.name,
                    code="610",
                    status=answer.status,
                    body=answer.data,
                )
            return RecordRejected(
                f"QuickBooks refused the request: {text}",
                provider=self.name,
                code=",".join(sorted(codes)),
                status=answer.status,
                body=answer.data,
            )
        if answer.status == 404:
            return NotFound("QuickBooks could not find it.", provider=self.name, status=404, body=answer.data)
        return super()._error_for(answer)

    def _get(self, path, *, kind, params=None):
        return self._send("GET", f"{self.base}/{path}", kind=kind, params=self._params(**(params or {}))).data or {}

    def query(self, statement, *, kind="query"):
        """Rows of a QuickBooks query (`select * from Item where ...`), as a dict of entity -> list."""
        data = self._get("query", kind=kind, params={"query": statement})
        return data.get("QueryResponse") or {}

    # --- company and reference data -------------------------------------------------------------

    def company(self):
        data = self._get(f"companyinfo/{self.company_id}", kind="companyinfo")
        info = data.get("CompanyInfo") or {}
        return Company(id=str(self.company_id), name=info.get("CompanyName") or info.get("LegalName") or "", details=info)

    def income_accounts(self):
        accounts = []
        for row in self._query_all("Account", "where AccountType = 'Income'"):
            accounts.append(
                Account(
                    remote_id=str(row.get("Id", "")),
                    name=row.get("FullyQualifiedName") or row.get("Name") or "",
                    code=row.get("AcctNum") or "",
                    account_type=row.get("AccountType") or "Income",
                    active=bool(row.get("Active", True)),
                )
            )
        return accounts

    # --- reads ----------------------------------------------------------------------------------

    def fetch(self, kind, remote_id):
        entity = ENTITIES[kind]
        data = self._get(f"{entity.lower()}/{remote_id}", kind=kind)
        row = data.get(entity)
        if not isinstance(row, dict):
            raise MalformedResponse(f"QuickBooks answered without the {kind}.", provider=self.name, body=data)
        return _record(kind, row)

    def find(self, kind, data, *, local_id=None):
        """By Name (items), DisplayName (customers), DocNumber (invoices); payments by date, customer,
        amount and the invoice they apply to."""
        entity = ENTITIES[kind]
        if kind == "payment":
            statement = f"select * from Payment where TxnDate = '{data.date.isoformat()}'"  # noqa: S608
            rows = self.query(statement, kind="payment").get("Payment") or []
            for row in rows:
                record = _record("payment", row)
                if (
                    record.data.amount == data.amount
                    and (not data.customer_remote_id or record.data.customer_remote_id == str(data.customer_remote_id))
                    and (not data.invoice_remote_id or record.invoice_remote_id == str(data.invoice_remote_id))
                ):
                    return record
            return None
        field, value = {
            "item": ("Name", getattr(data, "name", "")),
            "customer": ("DisplayName", getattr(data, "display_name", "")),
            "invoice": ("DocNumber", getattr(data, "number", "")),
        }[kind]
        statement = f"select * from {entity} where {field} = '{escape_query(value)}'"  # noqa: S608 - value escaped
        rows = self.query(statement, kind=kind).get(entity) or []
        for row in rows:
            if str(row.get(field, "")).lower() == value.lower():
                return _record(kind, row)
        return None

    def changed(self, kind, since):
        """CDC when `since` is within 30 days; a paged query otherwise (and when CDC is full)."""
        entity = ENTITIES[kind]
        now = datetime.datetime.now(datetime.UTC)
        if since is None or now - since > CDC_MAX_AGE:
            where = f"where MetaData.LastUpdatedTime >= '{_qb_time(since)}'" if since else ""
            for row in self._query_all(entity, where):
                yield _record(kind, row)
            return
        data = self._get("cdc", kind="cdc", params={"entities": entity, "changedSince": _qb_time(since)})
        rows = []
        for block in data.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                rows.extend(response.get(entity) or [])
        if len(rows) >= CDC_MAX_OBJECTS:
            for row in self._query_all(entity, f"where MetaData.LastUpdatedTime >= '{_qb_time(since)}'"):
                yield _record(kind, row)
            return
        for row in rows:
            yield _record(kind, row)

    def _query_all(self, entity, where=""):
        start = 1
        while True:
            statement = f"select * from {entity} {where} startposition {start} maxresults {QUERY_PAGE}"  # noqa: S608
            statement = statement.replace("  ", " ")
            rows = self.query(statement, kind=entity.lower() if entity in ENTITIES.values() else "query").get(entity) or []
            yield from rows
            if len(rows) < QUERY_PAGE:
                return
            start += QUERY_PAGE

    # --- writes ---------------------------------------------------------------------------------

    def push_batch(self, kind, requests):
        """Up to `batch_sizes[kind]` records in one `POST /batch`.

        Records refused before sending come back as rejected results and are not sent. The batch's
        `requestid` is a hash of its records' idempotency keys, so the same batch retried is
        replayed, not applied twice. RateLimited and ReconnectRequired propagate unchanged (send the
        same batch again later); any other failure of the whole request raises BatchFailed(cause=...).
        """
        if len(requests) > self.batch_size(kind):
            raise ValueError(f"At most {self.batch_size(kind)} {kind} records in one QuickBooks batch")
        entity = ENTITIES[kind]
        started = time.monotonic()
        results = [None] * len(requests)
        operations, sent = [], {}
        for index, request in enumerate(requests):
            refusal = self._refusal(kind, request.data)
            if refusal:
                results[index] = PushResult(local_id=request.local_id, ok=False, error=refusal)
                continue
            body = self._body(kind, request)
            # Numbered among the operations sent (<= 10 characters), so the same records give the
            # same bIds and a replayed answer (same requestid) still maps back to them.
            bid = str(len(operations) + 1)
            operation = {"bId": bid, "operation": "update" if request.remote_id else "create", entity: body}
            if kind == "invoice" and request.remote_id and request.data.status == "VOID":
                operation["operation"] = "void"
            operations.append(operation)
            sent[bid] = (index, body)
        if not operations:
            return results
        params = self._params()
        keys = [requests[index].idempotency_key for index, _ in sent.values()]
        if all(keys):
            params["requestid"] = combined_key(keys, 36)
        try:
            answer = self._send(
                "POST",
                f"{self.base}/batch",
                kind="batch",
                throttle_kind="batch",
                params=params,
                json_body={"BatchItemRequest": operations},
                allow_statuses=(400,),
            )
            data = answer.data
            fault = _fault_of(data)
            if fault is not None:
                raise RecordRejected(
                    f"QuickBooks refused the whole batch: {'; '.join(_error_text(e) for e in _fault_errors(fault))}",
                    provider=self.name,
                    code=",".join(e["code"] for e in _fault_errors(fault)),
                    status=answer.status,
                    body=data,
                )
            if answer.status != 200 or not isinstance(data, dict) or not isinstance(data.get("BatchItemResponse"), list):
                raise MalformedResponse(
                    "QuickBooks answered the batch without its results.", provider=self.name, status=answer.status, body=data
                )
        except RateLimited:
            raise
        except (TransientError, AuthenticationFailed, RecordRejected) as exc:
            raise BatchFailed(
                f"The QuickBooks batch of {len(operations)} {kind} records failed: {exc}", cause=exc, provider=self.name
            ) from exc
        duration = int((time.monotonic() - started) * 1000 / max(1, len(operations)))
        answers = {str(item.get("bId")): item for item in data["BatchItemResponse"] if isinstance(item, dict)}
        for bid, (index, body) in sent.items():
            request = requests[index]
            item = answers.get(bid)
            if item is None:
                error = MalformedResponse("QuickBooks did not answer for this record in its batch.", provider=self.name)
                results[index] = PushResult(local_id=request.local_id, ok=False, error=error, request=body, duration_ms=duration)
                continue
            results[index] = self._result(kind, request, body, item, duration)
        return results

    def push_one(self, kind, request):
        """One record with its own `requestid` (<= 50). Faults come back as results with `error`."""
        started = time.monotonic()
        refusal = self._refusal(kind, request.data)
        if refusal:
            return PushResult(local_id=request.local_id, ok=False, error=refusal)
        entity = ENTITIES[kind]
        body = self._body(kind, request)
        params = self._params()
        if request.idempotency_key:
            params["requestid"] = short_key(request.idempotency_key, 50)
        if kind == "invoice" and request.remote_id and request.data.status == "VOID":
            params["operation"] = "void"
        answer = self._send(
            "POST", f"{self.base}/{entity.lower()}", kind=kind, params=params, json_body=body, allow_statuses=(400, 404)
        )
        if _fault_of(answer.data) is None and answer.status != 200:
            raise self._error_for(answer)
        duration = int((time.monotonic() - started) * 1000)
        return self._result(kind, request, body, answer.data or {}, duration)

    def _result(self, kind, request, body, item, duration):
        entity = ENTITIES[kind]
        fault = _fault_of(item)
        if fault is not None:
            return PushResult(
                local_id=request.local_id,
                ok=False,
                error=self._fault_error(kind, request.data, fault),
                request=body,
                response=item,
                duration_ms=duration,
            )
        row = item.get(entity)
        if not isinstance(row, dict) or not row.get("Id"):
            error = MalformedResponse(f"QuickBooks answered without the {kind}.", provider=self.name, body=item)
            return PushResult(local_id=request.local_id, ok=False, error=error, request=body, response=item, duration_ms=duration)
        return PushResult(
            local_id=request.local_id,
            ok=True,
            remote_id=str(row["Id"]),
            remote_version=str(row.get("SyncToken", "")),
            remote_number=str(row.get("DocNumber") or ""),
            request=body,
            response=row,
            duration_ms=duration,
        )

    def _fault_error(self, kind, data, fault):
        errors = _fault_errors(fault)
        codes = [e["code"] for e in errors]
        label = describe(kind, data)
        detail = "; ".join(_error_text(e) for e in errors) or "no reason given"
        common = {"provider": self.name, "code": ",".join(codes), "body": fault}
        if "6240" in codes:
            return DuplicateName(
                f"QuickBooks rejected {label}: the name is already used by another record in QuickBooks", **common
            )
        if "6140" in codes:
            return DuplicateName(
                f"QuickBooks rejected {label}: the number is already used by another invoice in QuickBooks", **common
            )
        if "5010" in codes:
            return StaleVersion(f"QuickBooks rejected {label}: it was changed in QuickBooks since we last read it", **common)
        if "610" in codes:
            return NotFound(f"QuickBooks rejected {label}: it no longer exists in QuickBooks (deleted there?)", **common)
        if "3001" in codes:
            return RateLimited(
                f"QuickBooks asked us to slow down while saving {label}", retry_after=self.default_retry_after, **common
            )
        if "2040" in codes and kind in ("item", "customer"):
            name = data.name if kind == "item" else data.display_name
            problem = forbidden_name_problem(name, max_length=10**6, forbidden=NAME_FORBIDDEN)
            if problem:
                return RecordRejected(f"QuickBooks rejected {label}: {problem}", **common)
        return RecordRejected(f"QuickBooks rejected {label}: {detail}", **common)

    def _refusal(self, kind, data):
        """RecordRejected for what QuickBooks is known to refuse, so it is not sent at all."""
        problem = None
        if kind == "item":
            problem = forbidden_name_problem(data.name, max_length=100, forbidden=NAME_FORBIDDEN)
            if not problem and not data.income_account_id:
                problem = "it needs an income account (map one in Settings → Integrations)"
        elif kind == "customer":
            problem = forbidden_name_problem(data.display_name, max_length=500, forbidden=NAME_FORBIDDEN)
        elif kind == "invoice":
            problem = forbidden_name_problem(data.number, max_length=21, label="invoice numbers")
            if not problem and not data.lines:
                problem = "an invoice needs at least one line"
            if not problem and not data.customer_remote_id:
                problem = "its customer is not in QuickBooks yet"
        elif kind == "payment":
            if not data.invoice_remote_id:
                problem = "its invoice is not in QuickBooks yet"
            elif data.amount <= 0:
                problem = "the amount must be more than zero"
        return refused_before_sending(self.display_name, provider=self.name, kind=kind, data=data, problem=problem)

    def _body(self, kind, request):
        data = request.data
        body = getattr(self, f"_{kind}_body")(data)
        if request.remote_id:
            body.update({"Id": str(request.remote_id), "SyncToken": request.remote_version or "0", "sparse": True})
        return body

    @staticmethod
    def _item_body(data: ItemData):
        body = {
            "Name": data.name,
            "Type": "Service" if data.kind == "service" else "NonInventory",
            "Description": data.description,
            "UnitPrice": data.unit_price,
            "Active": data.active,
            "IncomeAccountRef": {"value": str(data.income_account_id)},
        }
        if data.code:
            body["Sku"] = data.code
        return body

    @staticmethod
    def _customer_body(data: CustomerData):
        body = {"DisplayName": data.display_name, "Active": data.active}
        if data.company:
            body["CompanyName"] = data.company
        if data.email:
            body["PrimaryEmailAddr"] = {"Address": data.email}
        if data.phone:
            body["PrimaryPhone"] = {"FreeFormNumber": data.phone}
        address = {
            "Line1": data.billing_line1,
            "Line2": data.billing_line2,
            "City": data.billing_city,
            "CountrySubDivisionCode": data.billing_region,
            "PostalCode": data.billing_postal_code,
            "Country": data.billing_country,
        }
        address = {k: v for k, v in address.items() if v}
        if address:
            body["BillAddr"] = address
        return body

    @staticmethod
    def _invoice_body(data: InvoiceData):
        lines = []
        for line in data.lines:
            amount = (line.quantity * line.unit_price).quantize(Decimal("0.01"))
            lines.append(
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": amount,
                    "Description": line.description,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": str(line.item_remote_id)},
                        "Qty": line.quantity,
                        "UnitPrice": line.unit_price,
                    },
                }
            )
        body = {
            "CustomerRef": {"value": str(data.customer_remote_id)},
            "DocNumber": data.number,
            "TxnDate": data.issue_date.isoformat(),
            "DueDate": data.due_date.isoformat(),
            "Line": lines,
        }
        if data.notes:
            body["CustomerMemo"] = {"value": data.notes}
        return body

    @staticmethod
    def _payment_body(data: PaymentData):
        body = {
            "CustomerRef": {"value": str(data.customer_remote_id)},
            "TotalAmt": data.amount,
            "TxnDate": data.date.isoformat(),
            "Line": [{"Amount": data.amount, "LinkedTxn": [{"TxnId": str(data.invoice_remote_id), "TxnType": "Invoice"}]}],
        }
        if data.reference:
            body["PaymentRefNum"] = data.reference[:21]
        if data.deposit_account_id:
            body["DepositToAccountRef"] = {"value": str(data.deposit_account_id)}
        return body

    # --- webhooks -------------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, *, body, headers, secret):
        """intuit-signature = base64(HMAC-SHA256(verifier token, raw body))."""
        return hmac_signature_matches(body=body, secret=secret, signature=header(headers, "intuit-signature"))


# --- parsing ---------------------------------------------------------------------------------------


def escape_query(value):
    """A value for a single-quoted string in a QuickBooks query."""
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


def _qb_time(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def _fault_of(data):
    if not isinstance(data, dict):
        return None
    fault = data.get("Fault") or data.get("fault")
    return fault if isinstance(fault, dict) else None


def _fault_errors(fault):
    """Errors of a Fault, in either case style (gateway faults use lower-case keys)."""
    errors = fault.get("Error") or fault.get("error") or []
    if isinstance(errors, dict):
        errors = [errors]
    result = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        result.append(
            {
                "code": str(error.get("code") or error.get("Code") or ""),
                "message": one_line(error.get("Message") or error.get("message") or ""),
                "detail": one_line(error.get("Detail") or error.get("detail") or ""),
                "element": error.get("element") or "",
            }
        )
    return result


def _error_text(error):
    detail, message = error["detail"], error["message"]
    if detail and message and message.lower() not in detail.lower():
        return f"{message}: {detail}"
    return detail or message or f"error {error['code']}"


def _looks_like_intuit_xml(text):
    head = text.lstrip()[:500]
    return head.startswith("<") and ("<Fault" in head or "IntuitResponse" in head)


def _xml_fault(text):
    """Intuit's XML Fault as the JSON shape ({"Fault": {"Error": [...], "type": ...}})."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        # A Fault never declares entities; refusing them keeps the parser safe from expansion attacks.
        raise MalformedResponse("QuickBooks sent an XML answer we will not read.", provider="quickbooks", body=text[:2000])
    try:
        root = ET.fromstring(text.strip())  # noqa: S314 - no DTDs or entities reach this line
    except ET.ParseError as exc:
        raise MalformedResponse(
            "QuickBooks sent an XML answer we could not read.", provider="quickbooks", body=text[:2000]
        ) from exc
    fault = None
    for element in root.iter():
        if element.tag.split("}")[-1] == "Fault":
            fault = element
            break
    if fault is None:
        raise MalformedResponse("QuickBooks sent XML instead of JSON.", provider="quickbooks", body=text[:2000])
    errors = []
    for element in fault:
        if element.tag.split("}")[-1] != "Error":
            continue
        entry = {"code": element.get("code", ""), "element": element.get("element", "")}
        for child in element:
            entry[child.tag.split("}")[-1]] = (child.text or "").strip()
        errors.append(entry)
    return {"Fault": {"Error": errors, "type": fault.get("type", "")}}


def _ref(value):
    if isinstance(value, dict):
        return str(value.get("value") or "")
    return str(value or "")


def _updated(row):
    meta = row.get("MetaData") or {}
    return parse_datetime(meta.get("LastUpdatedTime"))


def _record(kind, row):
    deleted = str(row.get("status", "")).lower() == "deleted"
    record = RemoteRecord(
        kind=kind,
        remote_id=str(row.get("Id", "")),
        version=str(row.get("SyncToken", "")),
        updated_at=_updated(row),
        deleted=deleted,
        raw=row,
    )
    if deleted:
        return record
    if kind == "item":
        record.number = row.get("Sku") or ""
        record.data = ItemData(
            name=row.get("Name", ""),
            code=row.get("Sku") or "",
            description=row.get("Description") or "",
            unit_price=decimal_or_zero(row.get("UnitPrice")),
            kind="service" if row.get("Type", "Service") == "Service" else "product",
            active=bool(row.get("Active", True)),
            income_account_id=_ref(row.get("IncomeAccountRef")),
        )
    elif kind == "customer":
        address = row.get("BillAddr") or {}
        record.data = CustomerData(
            display_name=row.get("DisplayName", ""),
            company=row.get("CompanyName") or "",
            email=(row.get("PrimaryEmailAddr") or {}).get("Address") or "",
            phone=(row.get("PrimaryPhone") or {}).get("FreeFormNumber") or "",
            billing_line1=address.get("Line1") or "",
            billing_line2=address.get("Line2") or "",
            billing_city=address.get("City") or "",
            billing_region=address.get("CountrySubDivisionCode") or "",
            billing_postal_code=address.get("PostalCode") or "",
            billing_country=address.get("Country") or "",
            active=bool(row.get("Active", True)),
        )
    elif kind == "invoice":
        lines = []
        for line in row.get("Line") or []:
            detail = line.get("SalesItemLineDetail")
            if line.get("DetailType") != "SalesItemLineDetail" or not isinstance(detail, dict):
                continue
            lines.append(
                LineData(
                    item_remote_id=_ref(detail.get("ItemRef")),
                    description=line.get("Description") or "",
                    quantity=decimal_or_zero(detail.get("Qty") or 1),
                    unit_price=decimal_or_zero(detail.get("UnitPrice")),
                )
            )
        total = decimal_or_zero(row.get("TotalAmt"))
        balance = decimal_or_zero(row.get("Balance")) if "Balance" in row else total
        voided = "void" in str(row.get("PrivateNote") or "").lower() and total == 0
        status = "VOID" if voided else ("PAID" if total > 0 and balance == 0 else "SENT")
        record.number = row.get("DocNumber") or ""
        record.data = InvoiceData(
            number=row.get("DocNumber") or "",
            customer_remote_id=_ref(row.get("CustomerRef")),
            issue_date=parse_date(row.get("TxnDate")),
            due_date=parse_date(row.get("DueDate")) or parse_date(row.get("TxnDate")),
            lines=lines,
            status=status,
            currency=_ref(row.get("CurrencyRef")) or "USD",
            notes=_ref(row.get("CustomerMemo")),
            total=total,
        )
    elif kind == "payment":
        invoice_id = ""
        for line in row.get("Line") or []:
            for linked in line.get("LinkedTxn") or []:
                if linked.get("TxnType") == "Invoice":
                    invoice_id = str(linked.get("TxnId", ""))
                    break
            if invoice_id:
                break
        record.invoice_remote_id = invoice_id
        record.data = PaymentData(
            invoice_remote_id=invoice_id,
            customer_remote_id=_ref(row.get("CustomerRef")),
            amount=decimal_or_zero(row.get("TotalAmt")),
            date=parse_date(row.get("TxnDate")),
            reference=row.get("PaymentRefNum") or "",
            currency=_ref(row.get("CurrencyRef")) or "USD",
            deposit_account_id=_ref(row.get("DepositToAccountRef")),
        )
    return record
