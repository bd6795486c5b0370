"""Every request body the adapters send, checked against the providers' published contracts:
Xero's OpenAPI spec (openapi-core, spec validation off), Wave's GraphQL schema (graphql-core),
Intuit's XSD (xmlschema). The FreshBooks SDK fixtures are covered in test_freshbooks.py."""

import json
import uuid
from pathlib import Path

import pytest
import requests
from graphql import build_schema, parse, validate
from graphql.execution.values import get_variable_values
from graphql.language import OperationDefinitionNode

from integrations.providers import wave as wave_module

from .conftest import customer, invoice, item, payment, push

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")  # Xero OAuth2 scheme: not ours to check

CONTRACTS = Path(__file__).resolve().parents[3] / "integrations" / "contracts"
QB_NS = "http://schema.intuit.com/finance/v3"


@pytest.fixture(scope="session")
def xero_openapi():
    from openapi_core import Config, OpenAPI

    # Built once: loading the 1.5 MB spec takes a noticeable moment. Spec validation is off because
    # the published spec has string booleans that a strict validator refuses.
    return OpenAPI.from_file_path(str(CONTRACTS / "xero" / "xero_accounting.yaml"), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="session")
def wave_schema():
    return build_schema((CONTRACTS / "wave" / "wave-public-schema.graphql").read_text())


@pytest.fixture(scope="session")
def intuit_schema():
    import xmlschema

    return xmlschema.XMLSchema(str(CONTRACTS / "quickbooks" / "xsd" / "IntuitRestServiceDef.xsd"))


def every_write(make_adapter, provider, mocked, answers, ref=str):
    """Push one create and one update of every kind through `provider`'s adapter; the requests sent.
    `ref` turns our short test ids into the provider's id format (Xero: UUIDs)."""
    adapter = make_adapter(provider)
    for method, url, body in answers:
        mocked.add(method, url, json=body)
    customer_id, invoice_id = ref("c4"), ref("i6")
    adapter.push_batch(
        "item", [push("item", item(), 1), push("item", item("Pipe", code="PIPE"), 2, remote_id=ref("a2"), version="1")]
    )
    adapter.push_one("item", push("item", item("Valve", code="VALVE"), 3))
    adapter.push_one("customer", push("customer", customer(), 4))
    adapter.push_one("customer", push("customer", customer("Bob Jones", company=""), 5, remote_id=ref("c5"), version="2"))
    adapter.push_one("invoice", push("invoice", invoice(customer_id=customer_id), 6))
    adapter.push_one(
        "invoice", push("invoice", invoice("INV-1002", customer_id=customer_id), 7, remote_id=ref("i7"), version="1")
    )
    adapter.push_one(
        "invoice",
        push("invoice", invoice("INV-1003", customer_id=customer_id, status="VOID"), 8, remote_id=ref("i8"), version="1"),
    )
    adapter.push_one("payment", push("payment", payment(invoice_id=invoice_id), 9))
    return [call.request for call in mocked.calls]


def xero_id(short):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero:{short}"))


def test_every_xero_request_body_validates_against_the_openapi_spec(mocked, make_adapter, xero_openapi):
    from openapi_core.contrib.requests import RequestsOpenAPIRequest

    base = "https://api.xero.com/api.xro/2.0"

    def elements(collection, id_field):
        return {collection: [{id_field: xero_id(f"x{i}"), "StatusAttributeString": "OK"} for i in range(2)]}

    sent = every_write(
        make_adapter,
        "xero",
        mocked,
        [
            ("POST", f"{base}/Items", elements("Items", "ItemID")),
            ("POST", f"{base}/Contacts", elements("Contacts", "ContactID")),
            ("POST", f"{base}/Invoices", elements("Invoices", "InvoiceID")),
            ("PUT", f"{base}/Payments", elements("Payments", "PaymentID")),
        ],
        ref=xero_id,
    )

    assert {r.method + " " + r.path_url.split("?")[0] for r in sent} == {
        "POST /api.xro/2.0/Items",
        "POST /api.xro/2.0/Contacts",
        "POST /api.xro/2.0/Invoices",
        "PUT /api.xro/2.0/Payments",
    }
    for prepared in sent:
        request = requests.Request(prepared.method, prepared.url, headers=dict(prepared.headers), data=prepared.body)
        xero_openapi.validate_request(RequestsOpenAPIRequest(request))


def test_xero_bank_accounts_are_read_as_the_openapi_spec_answers(mocked, make_adapter, xero_openapi):
    """The spec's own example answer of GET /Accounts, and a chart with every case the filter tells
    apart (test_xero.XERO_CHART), both valid answers by the spec; the request too."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    from .test_xero import XERO_CHART

    example = xero_openapi.spec / "paths" / "/Accounts" / "get" / "responses" / "200" / "content" / "application/json" / "example"
    url = "https://api.xero.com/api.xro/2.0/Accounts"
    mocked.get(url, json=example.read_value())
    mocked.get(url, json=XERO_CHART)
    adapter = make_adapter("xero")

    from_example = adapter.bank_accounts()
    adapter.bank_accounts()

    assert [(a.remote_id, a.name, a.code) for a in from_example] == [
        ("ebd06280-af70-4bed-97c6-7451a454ad85", "Business Savings Account", "091")
    ]
    for call in mocked.calls:
        request = RequestsOpenAPIRequest(requests.Request("GET", call.request.url, headers=dict(call.request.headers)))
        xero_openapi.validate_request(request)
        xero_openapi.validate_response(request, RequestsOpenAPIResponse(call.response))


def test_the_xero_contract_check_catches_a_bad_body(xero_openapi):
    from openapi_core.contrib.requests import RequestsOpenAPIRequest
    from openapi_core.validation.request.exceptions import InvalidRequestBody

    request = requests.Request(
        "POST",
        "https://api.xero.com/api.xro/2.0/Items?summarizeErrors=false",
        headers={"xero-tenant-id": "t", "Content-Type": "application/json", "Authorization": "Bearer x"},
        data=json.dumps({"Items": [{"Code": "C" * 31}]}),
    )
    with pytest.raises(InvalidRequestBody):
        xero_openapi.validate_request(RequestsOpenAPIRequest(request))


def check_wave_document(schema, document, variables=None):
    ast = parse(document)
    errors = validate(schema, ast)
    assert not errors, f"{document}\n{errors}"
    if variables is not None:
        operation = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
        coerced = get_variable_values(schema, operation.variable_definitions or [], variables)
        assert not isinstance(coerced, list), f"{document}\n{coerced}"


@pytest.mark.parametrize("name", sorted(wave_module.DOCUMENTS))
def test_every_wave_document_validates_against_the_schema(wave_schema, name):
    check_wave_document(wave_schema, wave_module.DOCUMENTS[name])


def test_every_wave_request_sent_validates_with_its_variables(mocked, make_adapter, wave_schema):
    url = "https://gql.waveapps.com/graphql/public"

    def answer(request):
        document = json.loads(request.body)["query"]
        name = document.split("{", 2)[1].split("(")[0].strip()
        field = wave_module.RESULT_FIELDS[name]
        node = {"id": "N1", "status": "DRAFT", "invoiceNumber": "INV-1", "modifiedAt": "2025-03-01T00:00:00.000Z"}
        return 200, {}, json.dumps({"data": {name: {"didSucceed": True, "inputErrors": [], field: node}}})

    mocked.add_callback("POST", url, callback=answer)
    adapter = make_adapter("wave")
    adapter.push_one("item", push("item", item(account="A1"), 1))
    adapter.push_one("item", push("item", item(account="A1"), 2, remote_id="P2"))
    adapter.push_one("customer", push("customer", customer(), 3))
    adapter.push_one("customer", push("customer", customer(billing_country="United States"), 4, remote_id="C4"))
    adapter.push_one("invoice", push("invoice", invoice(customer_id="C3"), 5))
    adapter.push_one("invoice", push("invoice", invoice(customer_id="C3"), 6, remote_id="I6"))
    adapter.push_one("payment", push("payment", payment(invoice_id="I5", deposit="A9"), 7))

    bodies = [json.loads(call.request.body) for call in mocked.calls]
    names = {b["query"].split("{", 2)[1].split("(")[0].strip() for b in bodies}
    assert {
        "productCreate",
        "productPatch",
        "customerCreate",
        "customerPatch",
        "invoiceCreate",
        "invoicePatch",
        "invoiceApprove",
        "invoiceMarkSent",
        "invoicePaymentCreateManual",
    } <= names
    for body in bodies:
        check_wave_document(wave_schema, body["query"], body["variables"])


def test_the_wave_bank_accounts_request_validates_with_its_variables(mocked, make_adapter, wave_schema):
    connection = {"pageInfo": {"currentPage": 1, "totalPages": 1}, "edges": []}
    mocked.post("https://gql.waveapps.com/graphql/public", json={"data": {"business": {"accounts": connection}}})

    make_adapter("wave").bank_accounts()

    body = json.loads(mocked.calls[0].request.body)
    check_wave_document(wave_schema, body["query"], body["variables"])


def test_the_wave_contract_check_catches_bad_variables(wave_schema):
    with pytest.raises(AssertionError):
        check_wave_document(
            wave_schema, wave_module.MUTATIONS["invoiceMarkSent"], {"input": {"invoiceId": "I1", "sendMethod": "CARRIER_PIGEON"}}
        )


def intuit_xml_shape(value):
    """A QuickBooks JSON body in the shape xmlschema encodes: references `{"value": v}` become
    `{"$": v}` and XML attributes (`sparse`, a reference's `name`) get an `@`."""
    if isinstance(value, list):
        return [intuit_xml_shape(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "value" in value and set(value) <= {"value", "name", "type"}:
        return {"$": value["value"], **{f"@{k}": v for k, v in value.items() if k != "value"}}
    return {("@sparse" if k == "sparse" else k): intuit_xml_shape(v) for k, v in value.items()}


def encode_intuit(schema, entity, body):
    from xmlschema import UnorderedConverter

    schema.elements[entity].encode(intuit_xml_shape(body), converter=UnorderedConverter, namespaces={"": QB_NS})


def test_every_quickbooks_body_encodes_against_the_intuit_xsd(mocked, make_adapter, intuit_schema):
    base = "https://quickbooks.api.intuit.com/v3/company/9130350000000000"
    batch = {
        "BatchItemResponse": [
            {"bId": "1", "Item": {"Id": "1", "SyncToken": "0"}},
            {"bId": "2", "Item": {"Id": "2", "SyncToken": "1"}},
        ]
    }
    sent = every_write(
        make_adapter,
        "quickbooks",
        mocked,
        [
            ("POST", f"{base}/batch", batch),
            ("POST", f"{base}/item", {"Item": {"Id": "3", "SyncToken": "0"}}),
            ("POST", f"{base}/customer", {"Customer": {"Id": "4", "SyncToken": "0"}}),
            ("POST", f"{base}/invoice", {"Invoice": {"Id": "6", "SyncToken": "0"}}),
            ("POST", f"{base}/payment", {"Payment": {"Id": "9", "SyncToken": "0"}}),
        ],
    )

    checked = 0
    for request in sent:
        body = json.loads(request.body)
        if "BatchItemRequest" in body:
            for operation in body["BatchItemRequest"]:
                entity = next(k for k in ("Item", "Customer", "Invoice", "Payment") if k in operation)
                encode_intuit(intuit_schema, entity, operation[entity])
                checked += 1
        else:
            entity = request.path_url.split("?")[0].rsplit("/", 1)[-1].capitalize()
            encode_intuit(intuit_schema, entity, body)
            checked += 1
    assert checked == 9


def test_the_intuit_contract_check_catches_a_bad_enum(intuit_schema):
    from xmlschema import XMLSchemaValidationError

    with pytest.raises(XMLSchemaValidationError):
        encode_intuit(intuit_schema, "Item", {"Name": "A", "Type": "Gadget", "IncomeAccountRef": {"value": "1"}})
