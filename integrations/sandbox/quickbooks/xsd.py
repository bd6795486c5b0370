"""Check QuickBooks JSON against Intuit's official XSD (integrations/contracts/quickbooks/xsd).

Intuit's JSON is its XML schema in JSON clothing, so an entity is checked by encoding it with
xmlschema after mapping references ({"value", "name"} -> {"$", "@name"}) and the entity attributes
(domain, status, sparse) to XML attributes. It catches unknown fields, bad enums, types and decimals,
not business-required fields (almost everything is optional in the schema). Loading takes about
0.6 s, once per process.
"""

import functools
from pathlib import Path

from django.conf import settings

NAMESPACE = "http://schema.intuit.com/finance/v3"
SCHEMA = Path(settings.BASE_DIR) / "integrations" / "contracts" / "quickbooks" / "xsd" / "IntuitRestServiceDef.xsd"
ATTRIBUTES = {"domain", "status", "sparse"}


class Invalid(ValueError):
    pass


@functools.cache
def schema():
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA))


def _convert(value, top=False):
    if isinstance(value, dict):
        if "value" in value and set(value) <= {"value", "name", "type"}:
            out = {"$": str(value["value"])}
            if value.get("name") is not None:
                out["@name"] = value["name"]
            if value.get("type"):
                out["@type"] = value["type"]
            return out
        # null and "" mean "not given" to Intuit's JSON binding (python-quickbooks sends both).
        return {("@" + k if top and k in ATTRIBUTES else k): _convert(v) for k, v in value.items() if v not in (None, "")}
    if isinstance(value, list):
        return [_convert(v) for v in value if v is not None]
    # JSON scalars become XML text, as Intuit's JSON binding reads them ("SyncToken": 0 is fine).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def validate(entity, data):
    """Raise Invalid (with the schema's reason) unless `data` is a valid `entity` ("Item", "Invoice", ...)."""
    import xmlschema

    element = schema().elements.get(entity)
    if element is None:
        raise Invalid(f"The schema has no element {entity}.")
    _, errors = element.encode(
        _convert(data, top=True), validation="lax", converter=xmlschema.UnorderedConverter, namespaces={"": NAMESPACE}
    )
    # Intuit's JSON binding does not insist on the schema's required children (python-quickbooks sends
    # CustomField without Type and is accepted), so only wrong values and unknown fields count.
    errors = [e for e in errors if "is not complete" not in (getattr(e, "reason", None) or str(e))]
    if errors:
        reason = getattr(errors[0], "reason", None) or str(errors[0]).splitlines()[0]
        raise Invalid(f"{entity}: {reason}")
