"""The QuickBooks sandbox over real HTTP: shapes, faults, limits, idempotency, control report."""

import threading
from decimal import Decimal

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)

JSON = {"Accept": "application/json"}


ENTITIES = ("Item", "Customer", "Invoice", "Payment", "Account", "CompanyInfo")


def check_against_xsd(answer):
    """Every entity in a 200 answer validates against Intuit's XSD."""
    from integrations.sandbox.quickbooks import xsd

    if answer.status_code != 200 or not answer.headers.get("Content-Type", "").startswith("application/json"):
        return
    body = answer.json()
    found = [body]
    found += body.get("BatchItemResponse", [])
    if "QueryResponse" in body:
        found.append(body["QueryResponse"])
    for page in (body.get("CDCResponse") or [{}])[0].get("QueryResponse", []):
        found.append(page)
    for holder in found:
        for entity in ENTITIES:
            value = holder.get(entity)
            for record in value if isinstance(value, list) else [value] if value else []:
                if record.get("status") != "Deleted":
                    xsd.validate(entity, record)


class QB:
    """A bookkeeper's raw HTTP view of one sandbox company (answers checked against the XSD)."""

    def __init__(self, base, token, realm):
        self.base, self.token, self.realm = base, token, realm
        self.api = f"{base}/sandbox/quickbooks/v3/company/{realm}"

    def headers(self, token=None):
        return {**JSON, "Authorization": f"Bearer {token or self.token}"}

    def post(self, path, body, params=None, **kw):
        answer = requests.post(
            f"{self.api}/{path}",
            json=body,
            params={"minorversion": 75, **(params or {})},
            headers=self.headers(),
            timeout=10,
            **kw,
        )
        check_against_xsd(answer)
        return answer

    def get(self, path, params=None):
        answer = requests.get(
            f"{self.api}/{path}", params={"minorversion": 75, **(params or {})}, headers=self.headers(), timeout=10
        )
        check_against_xsd(answer)
        return answer

    def query(self, text):
        return self.get("query", {"query": text})

    def control(self, method="get", **body):
        answer = getattr(requests, method)(f"{self.base}/sandbox/quickbooks/_control", json=body or None, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def income_account(self):
        return self.query("select * from Account where AccountType = 'Income'").json()["QueryResponse"]["Account"][0]

    def item(self, name, price="10.00"):
        return {"Name": name, "Type": "Service", "UnitPrice": price, "IncomeAccountRef": {"value": self.income_account()["Id"]}}


@pytest.fixture
def qb(live_server, settings):
    settings.SITE_URL = live_server.url
    # Tests fire requests faster than 10 a second; the per-second limit has its own test.
    minted = requests.post(
        f"{live_server.url}/sandbox/quickbooks/_control",
        json={"mint_token": True, "limits": {"per_second": None}, "validate_xsd": True},
        timeout=10,
    ).json()
    return QB(live_server.url, minted["access_token"], minted["company"])


def test_it_creates_reads_and_updates_an_item_with_sync_tokens(qb):
    created = qb.post("item", qb.item("Drain cleaning"))
    assert created.status_code == 200, created.text
    item = created.json()["Item"]
    assert item["SyncToken"] == "0" and item["Name"] == "Drain cleaning" and item["Active"] is True
    assert item["IncomeAccountRef"]["name"]
    assert set(item["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    updated = qb.post("item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "UnitPrice": 12.5}).json()["Item"]
    assert updated["SyncToken"] == "1" and updated["UnitPrice"] == 12.5 and updated["Name"] == "Drain cleaning"
    stale = qb.post("item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "UnitPrice": 13})
    assert stale.status_code == 400 and stale.json()["Fault"]["Error"][0]["code"] == "5010"
    read = qb.get(f"item/{item['Id']}").json()["Item"]
    assert read["UnitPrice"] == 12.5
    missing = qb.get("item/999999")
    assert missing.status_code == 400 and missing.json()["Fault"]["Error"][0]["code"] == "610"


def test_it_answers_faults_for_bad_names(qb):
    account = qb.income_account()["Id"]
    qb.post("item", qb.item("Pipe"))
    for name, code in (("pipe", "6240"), ("Pipe: copper", "2040"), ("Tab\there", "2040"), ("x" * 101, "2050"), ("", "2020")):
        answer = qb.post("item", {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": account}})
        assert answer.status_code == 400
        assert answer.json()["Fault"]["Error"][0]["code"] == code, name
        assert answer.json()["Fault"]["type"] == "ValidationFault"
    assert qb.post("customer", {"DisplayName": "x" * 500}).status_code == 200
    assert qb.post("customer", {"DisplayName": "y" * 501}).json()["Fault"]["Error"][0]["code"] == "2050"


def test_invoices_compute_totals_and_payments_reduce_the_balance(qb):
    item = qb.post("item", qb.item("Service call", "85.00")).json()["Item"]
    customer = qb.post("customer", {"DisplayName": "Ada Lovelace", "PrimaryEmailAddr": {"Address": "ada@example.com"}}).json()[
        "Customer"
    ]
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 170.0,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 2, "UnitPrice": 85},
    }
    invoice = qb.post("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line], "DocNumber": "INV-1"}).json()[
        "Invoice"
    ]
    assert invoice["TotalAmt"] == 170 and invoice["Balance"] == 170
    duplicate = qb.post("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line], "DocNumber": "INV-1"})
    assert duplicate.json()["Fault"]["Error"][0]["code"] == "6140"
    over = qb.post(
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 200,
            "Line": [{"Amount": 200, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert over.status_code == 400 and over.json()["Fault"]["Error"][0]["code"] == "6000"
    paid = qb.post(
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 70,
            "Line": [{"Amount": 70, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert paid.status_code == 200, paid.text
    after = qb.get(f"invoice/{invoice['Id']}").json()["Invoice"]
    assert after["Balance"] == 100 and after["SyncToken"] == "1"
    assert qb.get(f"customer/{customer['Id']}").json()["Customer"]["Balance"] == 100


def test_the_query_language_covers_what_adapters_send(qb):
    for n in range(5):
        qb.post("item", qb.item(f"Part {n}"))
    qb.post("item", qb.item("O'Brien fitting"))
    by_name = qb.query("select * from Item where Name = 'O\\'Brien fitting'").json()["QueryResponse"]
    assert [i["Name"] for i in by_name["Item"]] == ["O'Brien fitting"]
    listed = qb.query("select * from Item where Name in ('Part 1', 'Part 3') orderby Name").json()["QueryResponse"]
    assert [i["Name"] for i in listed["Item"]] == ["Part 1", "Part 3"]
    assert qb.query("select count(*) from Item").json()["QueryResponse"] == {"totalCount": 6}
    page = qb.query("select * from Item startposition 3 maxresults 2").json()["QueryResponse"]
    assert page["startPosition"] == 3 and page["maxResults"] == 2
    assert qb.query("select * from Item where Name = 'nothing'").json()["QueryResponse"] == {}
    recent = qb.query("select * from Item where Metadata.LastUpdatedTime > '2000-01-01T00:00:00-07:00'").json()
    assert len(recent["QueryResponse"]["Item"]) == 6
    accounts = qb.query("select * from Account where AccountType = 'Income'").json()["QueryResponse"]["Account"]
    assert len(accounts) >= 3 and {a["Classification"] for a in accounts} == {"Revenue"}
    info = qb.get(f"companyinfo/{qb.realm}").json()["CompanyInfo"]
    assert info["CompanyName"]


def test_a_batch_answers_each_bid_and_refuses_more_than_30(qb):
    account = qb.income_account()["Id"]
    ops = [
        {
            "bId": str(n),
            "operation": "create",
            "Item": {"Name": f"Batch {n}", "Type": "Service", "IncomeAccountRef": {"value": account}},
        }
        for n in range(30)
    ]
    ops[5]["Item"]["Name"] = "Batch 4"  # duplicate of bId 4
    ops[6]["Item"]["Name"] = "Bad: name"
    answer = qb.post("batch", {"BatchItemRequest": ops})
    assert answer.status_code == 200, answer.text
    results = {r["bId"]: r for r in answer.json()["BatchItemResponse"]}
    assert results["4"]["Item"]["Name"] == "Batch 4"
    assert results["5"]["Fault"]["Error"][0]["code"] == "6240"
    assert results["6"]["Fault"]["Error"][0]["code"] == "2040"
    too_many = qb.post("batch", {"BatchItemRequest": [*ops, {"bId": "31", "operation": "create", "Item": {"Name": "x"}}]})
    assert too_many.status_code == 400 and too_many.json()["Fault"]["Error"][0]["code"] == "1040"
    stale = qb.post(
        "batch", {"BatchItemRequest": [{"bId": "s", "operation": "update", "Item": {**results["4"]["Item"], "SyncToken": "7"}}]}
    )
    assert stale.json()["BatchItemResponse"][0]["Fault"]["Error"][0]["code"] == "5010"
    queried = qb.post("batch", {"BatchItemRequest": [{"bId": "q", "Query": "select * from Item where Name = 'Batch 7'"}]})
    assert queried.json()["BatchItemResponse"][0]["QueryResponse"]["Item"][0]["Name"] == "Batch 7"
    report = qb.control()
    assert report["largest_batch"] == 31 and report["objects"]["item"] == 28 and report["requests"]["batch"] == 4


def test_it_throttles_batches_with_intuits_xml_fault(qb):
    import xmlschema
    from django.conf import settings

    qb.control("post", limits={"batch_per_minute": 2})
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}]}
    assert [qb.post("batch", body).status_code for _ in range(2)] == [200, 200]
    throttled = qb.post("batch", body)
    assert throttled.status_code == 429
    assert throttled.headers["Content-Type"].startswith("application/xml")
    assert "ThrottleExceeded" in throttled.text and 'code="3001"' in throttled.text
    assert int(throttled.headers["Retry-After"]) >= 1
    schema = xmlschema.XMLSchema(str(settings.BASE_DIR / "integrations/contracts/quickbooks/xsd/IntuitRestServiceDef.xsd"))
    schema.validate(throttled.text)
    assert qb.query("select count(*) from Item").status_code == 200  # single requests still go
    report = qb.control()
    assert report["throttled"] == 1 and report["throttled_by"] == {"batch_per_minute": 1}


def test_more_than_ten_requests_a_second_are_throttled(qb):
    qb.control("post", limits={"per_second": 10})
    codes = [qb.query("select count(*) from Item").status_code for _ in range(12)]
    assert codes[:10] == [200] * 10 and 429 in codes


def test_requests_in_flight_are_limited(qb):
    qb.control("post", limits={"in_flight": 1}, latency_ms=400)
    results = []

    def call():
        results.append(qb.query("select count(*) from Item").status_code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[0] == 200 and 429 in results
    assert qb.control()["max_in_flight"] == 1


def test_a_repeated_requestid_replays_the_first_answer(qb):
    first = qb.post("item", qb.item("Water heater"), params={"requestid": "req-1"})
    again = qb.post("item", qb.item("Water heater"), params={"requestid": "req-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert qb.query("select count(*) from Item").json()["QueryResponse"]["totalCount"] == 1
    other = qb.post("item", qb.item("Water heater"), params={"requestid": "req-2"})
    assert other.json()["Fault"]["Error"][0]["code"] == "6240"


@pytest.mark.parametrize("mode,status", [("5xx", 500), ("html", 502)])
def test_it_fails_the_next_batches_on_demand(qb, mode, status):
    qb.control("post", fail_next_batches=1, fail_mode=mode)
    body = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Item": qb.item("Faulty")}]}
    failed = qb.post("batch", body)
    assert failed.status_code == status
    if mode == "html":
        assert failed.headers["Content-Type"].startswith("text/html")
    assert qb.query("select count(*) from Item").json()["QueryResponse"]["totalCount"] == 0
    assert qb.post("batch", body).status_code == 200
    assert qb.control()["faults_injected"] == 1


def test_a_timeout_fault_processes_nothing(qb):
    qb.control("post", fail_next_batches=1, fail_mode="timeout", timeout_seconds=1.5)
    with pytest.raises(requests.Timeout):
        requests.post(
            f"{qb.api}/batch",
            json={"BatchItemRequest": [{"bId": "1", "operation": "create", "Item": qb.item("Slow")}]},
            headers=qb.headers(),
            timeout=0.5,
        )
    assert qb.query("select count(*) from Item").json()["QueryResponse"]["totalCount"] == 0


def test_rejected_names_get_a_validation_fault(qb):
    qb.control("post", reject_names="^Reject")
    answer = qb.post("customer", {"DisplayName": "Reject me"})
    assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "6000"
    assert qb.post("customer", {"DisplayName": "Keep me"}).status_code == 200


def test_unavailable_and_expired_tokens_answer_like_intuit(qb):
    qb.control("post", expire_access_tokens=True)
    expired = qb.get(f"companyinfo/{qb.realm}")
    assert expired.status_code == 401
    assert expired.json()["fault"]["error"][0]["code"] == "3200"
    assert expired.json()["fault"]["type"] == "AUTHENTICATION"
    token = qb.control("post", mint_token=True, company=qb.realm)["access_token"]
    qb.token = token
    qb.control("post", unavailable_seconds=30)
    assert qb.get(f"companyinfo/{qb.realm}").status_code == 503
    qb.control("post", unavailable_seconds=0)
    assert qb.get(f"companyinfo/{qb.realm}").status_code == 200


def test_a_token_for_one_realm_cannot_reach_another(qb):
    other = next(c["id"] for c in qb.control()["companies"] if c["id"] != qb.realm)
    answer = requests.get(
        f"{qb.base}/sandbox/quickbooks/v3/company/{other}/companyinfo/{other}", headers=qb.headers(), timeout=10
    )
    assert answer.status_code == 403


def test_cdc_reports_changes_and_deletions(qb):
    item = qb.post("item", qb.item("Tracked")).json()["Item"]
    customer = qb.post("customer", {"DisplayName": "Grace"}).json()["Customer"]
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 10,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": 10},
    }
    invoice = qb.post("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}).json()["Invoice"]
    assert invoice["DocNumber"] == "1001"
    deleted = qb.post("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, params={"operation": "delete"})
    assert deleted.json()["Invoice"]["status"] == "Deleted"
    answer = qb.get("cdc", {"entities": "Item,Invoice", "changedSince": "2020-01-01T00:00:00Z"})
    assert answer.status_code == 400  # more than 30 days back
    from django.utils import timezone

    since = (timezone.now() - timezone.timedelta(minutes=5)).isoformat()
    pages = qb.get("cdc", {"entities": "Item,Invoice", "changedSince": since}).json()["CDCResponse"][0]["QueryResponse"]
    assert pages[0]["Item"][0]["Name"] == "Tracked"
    assert pages[1]["Invoice"][0]["status"] == "Deleted"


@pytest.mark.postgres
def test_two_simultaneous_creates_of_one_name_make_one_item(qb):
    body = qb.item("Contended")
    barrier = threading.Barrier(4)
    answers = []

    def create():
        barrier.wait()
        answers.append(qb.post("item", body))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 400, 400, 400]
    assert {a.json()["Fault"]["Error"][0]["code"] for a in answers if a.status_code == 400} == {"6240"}
    assert qb.control()["objects"]["item"] == 1


def test_the_control_report_has_the_agreed_keys(qb):
    report = qb.control()
    assert set(report["objects"]) >= {"item", "customer", "invoice", "payment"}
    assert set(report["requests"]) >= {"batch", "item", "customer", "invoice", "payment", "query", "token"}
    for key in ("largest_batch", "max_in_flight", "throttled", "refreshes", "invalid_grants"):
        assert isinstance(report[key], int)
    assert report["limits"]["max_batch_size"] == 30 and report["limits"]["batch_per_minute"] == 40
    assert len(report["companies"]) == 2
    assert Decimal(str(report["latency_ms"])) == 0


def test_it_refuses_what_intuits_schema_refuses(qb):
    account = qb.income_account()["Id"]
    answer = qb.post("item", {"Name": "Odd", "Type": "Service", "IncomeAccountRef": {"value": account}, "Colour": "red"})
    assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "2010"
    bad_decimal = qb.post("item", {"Name": "Odd", "Type": "Service", "IncomeAccountRef": {"value": account}, "UnitPrice": "ten"})
    assert bad_decimal.status_code == 400


def test_requestid_lengths_are_intuits(qb):
    body = {"BatchItemRequest": [{"bId": "12345678901", "Query": "select * from Item"}]}
    assert qb.post("batch", body, params={"requestid": "r1"}).json()["Fault"]["Error"][0]["code"] == "2050"
    assert qb.post("batch", body).status_code == 200  # long bIds are fine without requestid
    assert qb.post("item", qb.item("Long"), params={"requestid": "x" * 51}).status_code == 400


def test_batch_latency_applies_to_batches_only(qb):
    qb.control("post", batch_latency_ms=3000)
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}]}
    with pytest.raises(requests.Timeout):
        requests.post(f"{qb.api}/batch", json=body, headers=qb.headers(), timeout=0.5)
    assert (
        requests.get(
            f"{qb.api}/query", params={"query": "select count(*) from Item"}, headers=qb.headers(), timeout=2.5
        ).status_code
        == 200
    )
    assert qb.control()["batch_latency_ms"] == 3000
