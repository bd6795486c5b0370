"""Wave's public GraphQL schema, made executable for the sandbox.

The schema is the copied public SDL in integrations/contracts/wave/, unchanged: a document the real
API would refuse for its shape (unknown field, missing required argument, wrong type) is refused here
with GraphQL errors by graphql-core's own validation. Only the custom scalars get behaviour: Wave's
API is Python (graphene), whose Decimal travels as a string and whose Date/DateTime are ISO strings.
"""

import datetime
import functools
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from graphql import GraphQLError, build_schema
from graphql.language import FloatValueNode, IntValueNode, StringValueNode

SCHEMA_PATH = Path(settings.BASE_DIR) / "integrations" / "contracts" / "wave" / "wave-public-schema.graphql"


def _literal(node):
    if isinstance(node, (StringValueNode, IntValueNode, FloatValueNode)):
        return node.value
    raise GraphQLError("Expected a string or number literal.")


def parse_decimal(value):
    if isinstance(value, bool):
        raise GraphQLError(f"Decimal cannot represent {value!r}.")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise GraphQLError(f"Decimal cannot represent {value!r}.") from exc
    if not number.is_finite():
        raise GraphQLError(f"Decimal cannot represent {value!r}.")
    return number


def serialize_decimal(value):
    return str(value)


def parse_date(value):
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as exc:
        raise GraphQLError(f"Date cannot represent {value!r}: use YYYY-MM-DD.") from exc


def serialize_date(value):
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def parse_datetime(value):
    text = str(value)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"DateTime cannot represent {value!r}: use ISO 8601.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def serialize_datetime(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    return str(value)


@functools.cache
def wave_schema():
    """The executable schema (built once per process)."""
    schema = build_schema(SCHEMA_PATH.read_text())
    scalars = {
        "Decimal": (parse_decimal, serialize_decimal),
        "Date": (parse_date, serialize_date),
        "DateTime": (parse_datetime, serialize_datetime),
    }
    for name, (parse, serialize) in scalars.items():
        scalar = schema.get_type(name)
        # graphql-core 3.3 reads the coerce_* hooks; the legacy names are kept in step for older callers.
        scalar.parse_value = scalar.coerce_input_value = parse
        scalar.parse_literal = lambda node, _variables=None, parse=parse: parse(_literal(node))
        scalar.coerce_input_literal = lambda node, parse=parse: parse(_literal(node))
        scalar.serialize = scalar.coerce_output_value = serialize
    return schema
