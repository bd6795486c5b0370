"""QuickBooks' query language, as much of it as clients use.

`select * | count(*) from <Entity> [where <cond> [and <cond>]...] [orderby <field> [asc|desc]]
[startposition N] [maxresults M]`; conditions `<field> (= | != | < | > | <= | >= | like) '<value>'`
or `<field> in ('a', 'b')`; fields may be paths (`MetaData.LastUpdatedTime`, `CustomerRef`).
String comparisons ignore case. Name lists (Item, Customer, Account) answer active records only
unless the query filters on Active. MAXRESULTS defaults to 100 and is capped at 1000.

Equality and IN on Id, Name, DisplayName and DocNumber are answered from indexed columns, so a
look-up in a 3,629-item company does not read every item.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from .. import core
from .entities import KINDS, QBFault, _public, render

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,|\*)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*(?:\(\*\))?)
    )""",
    re.VERBOSE,
)
NAME_LISTS = ("Item", "Customer", "Account")
INDEXED = {"id": "object_id", "name": "unique_key", "displayname": "unique_key", "docnumber": "alt_key"}


def parse_error(detail):
    return QBFault(4000, "Error parsing query", f"QueryParserError: {detail}")


def tokenize(text):
    tokens, pos = [], 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise parse_error(f'Encountered "{text[pos : pos + 20]}"')
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = value[1:-1].replace("\\'", "'").replace("''", "'")
        tokens.append((kind, value))
    return tokens


def parse(text):
    tokens = tokenize(text)
    pos = 0

    def peek(offset=0):
        return tokens[pos + offset] if pos + offset < len(tokens) else (None, None)

    def take(expected_word=None):
        nonlocal pos
        kind, value = peek()
        if kind is None:
            raise parse_error("Unexpected end of query")
        if expected_word and (kind != "word" or value.lower() != expected_word):
            raise parse_error(f"Expected {expected_word}, found {value}")
        pos += 1
        return kind, value

    take("select")
    kind, value = take()
    count = False
    if kind == "op" and value == "*":
        pass
    elif kind == "word" and value.lower() == "count(*)":
        count = True
    else:
        # select <fields>: answer whole entities (clients read what they asked for).
        while peek()[1] and peek()[1].lower() != "from":
            take()
    take("from")
    _, entity = take()
    entity = {e.lower(): e for e in (*KINDS, "CompanyInfo")}.get(entity.lower())
    if entity is None:
        raise parse_error(f"Invalid entity {value}")
    conditions, order, start, maximum = [], None, 1, 100
    while peek()[0] is not None:
        _, word = take()
        word = word.lower()
        if word in ("where", "and"):
            _, field = take()
            op_kind, op = take()
            if op_kind == "word" and op.lower() in ("in", "like"):
                op = op.lower()
            if op == "in":
                take()  # (
                values = []
                while True:
                    _, item = take()
                    values.append(item)
                    _, sep = take()
                    if sep == ")":
                        break
                conditions.append((field, "in", values))
            else:
                _, operand = take()
                conditions.append((field, op, operand))
        elif word == "orderby" or (word == "order" and peek()[1] and peek()[1].lower() == "by"):
            if word == "order":
                take()
            _, field = take()
            descending = False
            if peek()[0] == "word" and peek()[1].lower() in ("asc", "desc"):
                descending = take()[1].lower() == "desc"
            order = (field, descending)
        elif word == "startposition":
            start = int(take()[1])
        elif word == "maxresults":
            maximum = min(int(take()[1]), 1000)
        else:
            raise parse_error(f'Encountered "{word}"')
    return {"entity": entity, "count": count, "conditions": conditions, "order": order, "start": max(start, 1), "max": maximum}


def _field(record, path):
    value = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        lowered = {k.lower(): v for k, v in value.items()}
        value = lowered.get(part.lower())
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    return value


def _as_datetime(text):
    try:
        moment = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=-7)))
    return moment


def _compare(left, op, right):
    if left is None:
        return op in ("!=", "<>")
    if isinstance(left, bool):
        left = "true" if left else "false"
    if op == "in":
        return any(_compare(left, "=", r) for r in right)
    if op == "like":
        pattern = "^" + ".*".join(re.escape(part) for part in str(right).split("%")) + "$"
        return re.match(pattern, str(left), re.IGNORECASE | re.DOTALL) is not None
    a, b = _coerce(left, right)
    return {
        "=": a == b,
        "!=": a != b,
        "<>": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }[op]


def _coerce(left, right):
    if isinstance(left, (int, float)) or (isinstance(left, str) and re.fullmatch(r"-?\d+(\.\d+)?", left)):
        try:
            return Decimal(str(left)), Decimal(str(right))
        except InvalidOperation:
            pass
    left_time, right_time = _as_datetime(left), _as_datetime(right)
    if isinstance(left, str) and "T" in left and left_time and right_time:
        return left_time, right_time
    return str(left).lower(), str(right).lower()


def run(company, text):
    """Answer a query: the QueryResponse object."""
    query = parse(text)
    entity = query["entity"]
    if entity == "CompanyInfo":
        from .entities import company_info

        return {"CompanyInfo": [company_info(company)], "startPosition": 1, "maxResults": 1}
    kind = KINDS[entity]
    qs = core.object_list(company=company, kind=kind)
    for field, op, operand in query["conditions"]:
        column = INDEXED.get(field.lower())
        if column and op in ("=", "in"):
            values = operand if op == "in" else [operand]
            if column != "object_id":
                values = [str(v).strip().lower() for v in values]
            qs = qs.filter(**{f"{column}__in": values})
        elif field.lower() in ("metadata.lastupdatedtime",) and op in (">", ">="):
            moment = _as_datetime(operand)
            if moment is None:
                raise parse_error(f"Invalid date {operand}")
            qs = qs.filter(updated_at__gte=moment.replace(microsecond=0))
    records = []
    filters_active = any(field.lower() == "active" for field, _, _ in query["conditions"])
    for obj in qs:
        record = _public(render(obj))
        if entity in NAME_LISTS and not filters_active and record.get("Active") is False:
            continue
        if all(_compare(_field(record, field), op, operand) for field, op, operand in query["conditions"]):
            records.append(record)
    if query["count"]:
        return {"totalCount": len(records)}
    if query["order"]:
        field, descending = query["order"]
        records.sort(key=lambda r: _coerce(_field(r, field) or "", "")[0], reverse=descending)
    page = records[query["start"] - 1 : query["start"] - 1 + query["max"]]
    if not page:
        return {}
    return {entity: page, "startPosition": query["start"], "maxResults": len(page)}
