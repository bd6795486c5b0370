"""The request loop every adapter shares: throttle slot, counting, one token refresh, error typing.

`HttpAdapter._send()` is the only place an adapter touches the network. It turns what can go wrong
on the wire into the error types of base.py, so the sync engine can decide from the type alone:

- connection refused / DNS / reset before the request went out  -> TransientError
- read timeout or connection dropped after the request was sent -> UncertainOutcome (look up first)
- 401 -> `token_provider(force_refresh=True)` once and the request again; a second 401 ->
  AuthenticationFailed(permanent=True). ReconnectRequired from the token provider propagates.
- 429 (and QuickBooks' older 403 ThrottleExceeded) -> the throttle is penalized for the wait the
  provider asked for and RateLimited(retry_after=...) is raised; counted in `stats.throttled`
- 5xx -> TransientError; an answer that should be JSON but is not (an HTML error page) ->
  MalformedResponse
- any other 4xx is handed to the adapter's `_error_for()` to be read in the provider's own format.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import re
from decimal import Decimal

import requests

from .base import (
    AuthenticationFailed,
    MalformedResponse,
    ProviderAdapter,
    ProviderError,
    RateLimited,
    RecordRejected,
    TransientError,
    UncertainOutcome,
)

# Seconds to wait for a TCP connection. Short: nothing was sent yet, so failing fast is safe.
CONNECT_TIMEOUT = 10.0
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def provider_session():
    """The requests session of one adapter. With no proxy in the environment, it does not consult the
    environment on every request (requests looks up proxies, no_proxy and ~/.netrc per request when
    trust_env is on: a sixth of a request's CPU here, and a ~/.netrc entry would replace our
    Authorization header); a CA bundle named in the environment still applies."""
    session = requests.Session()
    if not requests.utils.getproxies():
        session.trust_env = False
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
    return session


class Answer:
    """A provider's answer: status, headers and the decoded JSON body (None when empty)."""

    def __init__(self, response, data):
        self.response = response
        self.status = response.status_code
        self.headers = response.headers
        self.data = data

    def __repr__(self):
        return f"Answer({self.status})"


class HttpAdapter(ProviderAdapter):
    """ProviderAdapter with the shared request loop. Subclasses implement `_headers()` and may
    override `_error_for()`, `_retry_after()` and `_is_throttled()`."""

    # Seconds to wait on a 429 that does not say (QuickBooks documents "wait 60 seconds").
    default_retry_after = 60.0

    def _headers(self, token):
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def _send(
        self,
        method,
        url,
        *,
        kind,
        throttle_kind="single",
        params=None,
        json_body=None,
        data=None,
        headers=None,
        allow_statuses=(),
    ):
        """Send one request and return an Answer for a 2xx (or a status in `allow_statuses`).

        `kind` names what is asked for in `stats.by_kind` ("item", "batch", "query", ...);
        `throttle_kind` is the throttle's kind ("batch" or "single"). Raises the error types
        listed in the module docstring.
        """
        token = self.token_provider()
        refreshed = False
        body = None
        if json_body is not None:
            body = json.dumps(json_body, default=_json_default)
        while True:
            request_headers = self._headers(token)
            if body is not None:
                request_headers["Content-Type"] = "application/json"
            request_headers.update(headers or {})
            with self.throttle.slot(throttle_kind):
                self.stats.count(kind)
                if throttle_kind == "batch":
                    self.stats.batches += 1
                response = self._transport(
                    method, url, params=params, data=body if body is not None else data, headers=request_headers
                )
            if response.status_code == 401 or self._is_auth_failure(response):
                if not refreshed:
                    refreshed = True
                    token = self.token_provider(force_refresh=True)
                    continue
                error = AuthenticationFailed(
                    f"{self.display_name} refused our access token even after a refresh.",
                    provider=self.name,
                    status=response.status_code,
                    body=_short_text(response),
                )
                error.permanent = True
                raise error
            break

        if self._is_throttled(response):
            self.stats.throttled += 1
            retry_after, problem = self._retry_after(response)
            self.throttle.penalize(retry_after)
            raise RateLimited(
                f"{self.display_name} asked us to slow down; waiting {retry_after:g} seconds.",
                retry_after=retry_after,
                problem=problem,
                provider=self.name,
                status=response.status_code,
                code="429",
                body=_short_text(response),
            )
        if response.status_code >= 500:
            raise TransientError(
                f"{self.display_name} is having trouble (HTTP {response.status_code}); we will try again.",
                provider=self.name,
                status=response.status_code,
                body=_short_text(response),
            )
        parsed = self._decode(response)
        answer = Answer(response, parsed)
        if 200 <= response.status_code < 300 or response.status_code in allow_statuses:
            return answer
        raise self._error_for(answer)

    def _transport(self, method, url, *, params, data, headers):
        try:
            return self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=(CONNECT_TIMEOUT, self.timeout),
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise TransientError(f"Could not reach {self.display_name} (connection timed out).", provider=self.name) from exc
        except (requests.exceptions.ReadTimeout, requests.exceptions.Timeout) as exc:
            raise UncertainOutcome(
                f"{self.display_name} did not answer in time; the request may or may not have been applied.",
                provider=self.name,
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            # A connection dropped after the request went out ("Connection aborted") may have been
            # applied; a refused or unresolvable connection was not.
            if method.upper() in WRITE_METHODS and "aborted" in str(exc).lower():
                raise UncertainOutcome(
                    f"The connection to {self.display_name} dropped before it answered; the request may have been applied.",
                    provider=self.name,
                ) from exc
            raise TransientError(f"Could not reach {self.display_name}.", provider=self.name) from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise UncertainOutcome(
                f"{self.display_name}'s answer was cut off; the request may have been applied.", provider=self.name
            ) from exc

    def _decode(self, response):
        """The JSON body, None when empty; MalformedResponse when it is not JSON."""
        if not response.content or not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedResponse(
                f"{self.display_name} sent an answer we could not read ({_describe_content(response)}).",
                provider=self.name,
                status=response.status_code,
                body=_short_text(response),
            ) from exc

    # --- provider-specific hooks -----------------------------------------------------------------

    def _is_auth_failure(self, response):
        return False

    def _is_throttled(self, response):
        return response.status_code == 429

    def _retry_after(self, response):
        """(seconds, problem) for a throttled answer."""
        return parse_retry_after(response.headers.get("Retry-After"), self.default_retry_after), ""

    def _error_for(self, answer):
        """The error for a non-2xx answer that is not 401/429/5xx."""
        return RecordRejected(
            f"{self.display_name} refused the request (HTTP {answer.status}).",
            provider=self.name,
            status=answer.status,
            body=answer.data,
        )


# --- helpers ---------------------------------------------------------------------------------------


def parse_retry_after(value, default):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); `default` when absent/odd."""
    if value is None or str(value).strip() == "":
        return float(default)
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return float(default)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def short_key(value, limit):
    """`value` when it fits in `limit` characters, else a stable hash of it that does."""
    if len(value) <= limit:
        return value
    return hashlib.sha256(value.encode()).hexdigest()[:limit]


def combined_key(keys, limit):
    """One stable key for a batch, derived from its records' keys (same records -> same key)."""
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:limit]


def hmac_signature_matches(*, body, secret, signature):
    """base64(HMAC-SHA256(secret, body)) == signature, compared in constant time. A signature with
    characters that are not ASCII is simply a mismatch (compared as bytes, never a TypeError)."""
    if not secret or not signature:
        return False
    if isinstance(body, str):
        body = body.encode()
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


def header(headers, name):
    """A header from a dict, requests' CaseInsensitiveDict or Django's request.headers / META."""
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        value = None
    if value is not None:
        return value
    lowered = name.lower()
    for key, value in dict(headers).items():
        if key.lower() == lowered:
            return value
    meta_key = "HTTP_" + name.upper().replace("-", "_")
    return dict(headers).get(meta_key)


def money(value):
    """Decimal as a string with two decimals, for providers that take money as strings."""
    return str(Decimal(value).quantize(Decimal("0.01")))


def decimal_or_zero(value):
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return Decimal("0")


def parse_date(value):
    if not value:
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def parse_datetime(value):
    """ISO 8601 (with Z or an offset) to an aware datetime; naive values are taken as UTC."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def forbidden_name_problem(name, *, max_length, forbidden=(), label="names"):
    """A sentence saying why `name` cannot be sent, or None when it can."""
    if not name or not name.strip():
        return f"{label} cannot be empty"
    if len(name) > max_length:
        return f"{label} can be at most {max_length} characters (this one has {len(name)})"
    for char, description in forbidden:
        if char in name:
            return f"{label} cannot contain {description}"
    return None


def _json_default(value):
    if isinstance(value, Decimal):
        # Money and quantities as JSON numbers; float keeps the two-decimal values exact in repr.
        return float(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"Cannot encode {type(value).__name__} as JSON")


def _describe_content(response):
    content_type = response.headers.get("Content-Type", "")
    text = response.text[:200].lstrip().lower() if response.content else ""
    if "html" in content_type or text.startswith("<!doctype html") or text.startswith("<html"):
        return f"an HTML page instead of JSON, HTTP {response.status_code}"
    return f"not JSON, HTTP {response.status_code}"


def _short_text(response, limit=2000):
    try:
        return response.text[:limit]
    except Exception:  # a body we cannot decode is not worth an error of its own
        return ""


def refused_before_sending(provider_name, *, provider, kind, data, problem):
    """The RecordRejected an adapter returns for a record it will not send (None when `problem` is None),
    worded like the provider's own rejections: "QuickBooks rejected item 'Drain: Main line': ..."."""
    if not problem:
        return None
    return RecordRejected(
        f"{provider_name} rejected {describe(kind, data)}: {problem}", provider=provider, code="refused_before_sending"
    )


def describe(kind, data):
    """How a record is named in messages: item 'Drain: Main line', invoice 'INV-7', ..."""
    if kind == "item":
        return f"item '{data.name}'"
    if kind == "customer":
        return f"customer '{data.display_name}'"
    if kind == "invoice":
        return f"invoice '{data.number}'"
    if kind == "payment":
        return f"payment of {data.amount} on {data.date.isoformat()}"
    return kind


_WS = re.compile(r"\s+")


def one_line(text):
    return _WS.sub(" ", str(text or "")).strip()


__all__ = [
    "Answer",
    "HttpAdapter",
    "ProviderError",
    "combined_key",
    "decimal_or_zero",
    "describe",
    "forbidden_name_problem",
    "header",
    "hmac_signature_matches",
    "money",
    "one_line",
    "parse_date",
    "parse_datetime",
    "parse_retry_after",
    "short_key",
]
