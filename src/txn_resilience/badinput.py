"""A fixed catalogue of hostile requests, sent through the local gateway.

Each case is a request a broken or hostile client could send. The rule for every answer: no
5xx, no dropped connection, and every 4xx carries ``{"error": {"code": ...}}`` with a
machine-readable code. A few cases are valid requests in disguise (a wrong Content-Type on a
good body): they may be accepted, and their transaction ids join the ledger.
"""

from __future__ import annotations

import http.client
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from txn_resilience import cards, strategies
from txn_spec import shapes

CODE = re.compile(r"^[a-z][a-z0-9_]*$")
HEADERS_ONLY_ABOVE = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    path: str = f"/{shapes.API_PATH}"
    api_key: bool = True


def _body(**overrides: Any) -> dict[str, Any]:
    body = {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": "tok_badinput0001",
        "card_bin": "411111",
        "card_last4": "1111",
        "card_country": "US",
        "channel": "ecommerce",
        "ip_address": "203.0.113.7",
        "ip_country": "US",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def _json(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8", "surrogatepass")


def catalogue(seed: int = 11) -> list[Case]:
    rng = random.Random(seed)  # noqa: S311
    cases: list[Case] = [
        Case("empty body", b""),
        Case("not json", b"merchant_id=m_1001&amount=1999"),
        Case("json array", b"[1, 2, 3]"),
        Case("json string", b'"hello"'),
        Case("json null", b"null"),
        Case("truncated json", _json(_body())[:-7]),
        Case("not utf-8", b'{"merchant_id": "\xff\xfe\xfd"}'),
        Case("utf-16 body", json.dumps(_body()).encode("utf-16")),
        Case("nan amount", json.dumps(_body(amount=float("nan"))).encode()),
        Case("deep nesting (arrays)", b"[" * 5000 + b"]" * 5000),
        Case("deep nesting (objects)", b'{"a":' * 3000 + b"1" + b"}" * 3000),
        Case("deep nesting in a field", _json(_body(geo=json.loads("[" * 50 + "]" * 50)))),
        Case("9 KB body", _json(_body(external_id="x" * 9000))),
        Case("1 MB body", _json({**_body(), "padding": "y" * 1_000_000})),
        Case("11 MB body", b'{"p": "' + b"z" * 11_000_000 + b'"}'),
        Case("duplicate keys", b'{"amount": 1, "amount": -5, ' + _json(_body())[1:]),
        Case("missing all fields", b"{}"),
        Case("unknown field", _json(_body(is_admin=True))),
        Case("wrong method", _json(_body()), method="GET"),
        Case("wrong path", _json(_body()), path="/transactions/../admin"),
        Case("no api key", _json(_body()), api_key=False),
        Case("wrong api key", _json(_body()), headers={"x-api-key": "not-the-key"}),
        Case("bad idempotency key", _json(_body()), headers={"Idempotency-Key": "a b\u00e9"}),
        Case("too long idempotency key", _json(_body()), headers={"Idempotency-Key": "k" * 300}),
        # times the pattern admits whose UTC no datetime holds (once a 503 from the validator)
        Case("timestamp before year 1 in UTC", _json(_body(timestamp="0001-01-01T00:00:00+00:01"))),
        Case("timestamp after 9999 in UTC", _json(_body(timestamp="9999-12-31T23:59:59-00:01"))),
        Case("impossible date", _json(_body(timestamp="2026-02-30T12:00:00Z"))),
    ]
    for content_type in ("text/plain", "application/xml", "multipart/form-data", ""):
        cases.append(
            Case(
                f"content-type {content_type or 'empty'}",
                _json(_body()),
                headers={"Content-Type": content_type},
            )
        )
    for amount in strategies.BAD_AMOUNTS:
        if isinstance(amount, float) and amount != amount:
            continue
        try:
            body = _json(_body(amount=amount))
        except ValueError:
            continue
        cases.append(Case(f"amount {amount!r}", body))
    for currency in strategies.NOT_A_CURRENCY:
        cases.append(Case(f"currency {currency!r}", _json(_body(currency=currency))))
    for country in strategies.NOT_A_COUNTRY:
        cases.append(Case(f"card_country {country!r}", _json(_body(card_country=country))))
        cases.append(Case(f"ip_country {country!r}", _json(_body(ip_country=country))))
    for field_name in ("merchant_id", "currency", "card_token", "card_bin", "external_id"):
        for trick in strategies.UNICODE_TRICKS:
            cases.append(
                Case(f"unicode {trick!a} in {field_name}", _json(_body(**{field_name: trick})))
            )
        for injection in strategies.INJECTIONS:
            cases.append(
                Case(
                    f"injection {injection!a} in {field_name}",
                    _json(_body(**{field_name: injection})),
                )
            )
    pan = cards.make_pan(rng, 16)
    for where in (*strategies.STRING_FIELDS, "key", "extra_field"):
        for how in ("plain", "escaped"):
            cases.append(
                Case(
                    f"card number in {where} ({how})",
                    strategies.with_pan(_body(), pan, where, how).encode(),
                )
            )
    cases.append(
        Case(
            "card number spaced",
            strategies.with_pan(_body(), cards.spaced(pan), "external_id", "plain").encode(),
        )
    )
    cases.append(Case("card number in a header", _json(_body()), headers={"X-Card": pan}))
    for merchant in ("m_9001", "m_nope", "m_1003"):
        cases.append(Case(f"merchant {merchant}", _json(_body(merchant_id=merchant))))
    cases.append(Case("amount over the merchant limit", _json(_body(amount=10**9))))
    cases.append(Case("timestamp in the future", _json(_body(timestamp="2999-01-01T00:00:00Z"))))
    # 29 February of a year that has none (the impossible date above is the 30th of any year)
    cases.append(Case("timestamp not a date", _json(_body(timestamp="2025-02-29T00:00:00Z"))))
    cases.append(Case("geo out of range", _json(_body(geo={"lat": 91, "lon": 0}))))
    return cases


@dataclass
class BadInputResult:
    tried: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    no_answer: list[str] = field(default_factory=list)
    uncoded_4xx: list[str] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    accepted_ids: list[str] = field(default_factory=list)
    accepted_cases: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tried": self.tried,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "5xx": len(self.server_errors),
            "no_answer": len(self.no_answer),
            "uncoded_4xx": len(self.uncoded_4xx),
            "failures": (self.server_errors + self.no_answer + self.uncoded_4xx)[:20],
            "codes": dict(self.codes.most_common()),
            "accepted": self.accepted_cases,
            "accepted_ids": self.accepted_ids,
        }


def error_code(payload: bytes) -> str | None:
    """The machine-readable code of an error answer, or ``None``."""
    try:
        body = json.loads(payload)
        code = body["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) and CODE.match(code) else None


def send(host: str, port: int, api_key: str, case: Case) -> tuple[int, bytes]:
    """One request; status 0 when the connection broke without an answer."""
    headers = {"Content-Type": "application/json"}
    if case.api_key:
        headers["x-api-key"] = api_key
    headers.update(case.headers)
    if headers.get("Content-Type") == "":
        del headers["Content-Type"]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        if len(case.body) > HEADERS_ONLY_ABOVE:
            # A server refuses a huge body from its Content-Length, before reading it; a
            # client that kept writing would never read the answer (broken pipe).
            connection.putrequest(case.method, case.path)
            for name, value in {**headers, "Content-Length": str(len(case.body))}.items():
                connection.putheader(name, value)
            connection.endheaders()
        else:
            connection.request(case.method, case.path, body=case.body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        connection.close()


def run(host: str, port: int, api_key: str, cases: list[Case] | None = None) -> dict[str, Any]:
    result = BadInputResult()
    for case in cases or catalogue():
        status, payload = send(host, port, api_key, case)
        result.tried += 1
        result.statuses[status] += 1
        if status == 0:
            result.no_answer.append(case.name)
        elif status >= 500:
            result.server_errors.append(f"{case.name}: {status}")
        elif status >= 400:
            code = error_code(payload)
            if code is None:
                result.uncoded_4xx.append(f"{case.name}: {status}")
            else:
                result.codes[code] += 1
        elif status == 202:
            result.accepted_cases.append(case.name)
            result.accepted_ids.append(json.loads(payload)["transaction_id"])
    return result.as_dict()
