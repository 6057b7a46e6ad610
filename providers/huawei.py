"""Huawei Cloud SMS (MSGSMS): form-encoded status reports and uplink messages.

Sources: seed 003 (status report), docs/providers/huawei.md (fields, status table,
ACCEPTD doubt, uplink messages, answer, optional AK/SK push authentication) and Huawei's
APIG signing guide (devg-apisign api-sign-algorithm-001/002), whose worked example is the
sample ``huawei_apig_signature_vector.txt``.

Huawei pushes unauthenticated by default ("免鉴权"); the callback token and the IP
allow-list, checked before the adapter runs, are then the only check. When the account
holds an AK/SK pair, every push must carry Huawei's ``SDK-HMAC-SHA256`` signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode

from dlrhub.core.vocabulary import EventType
from dlrhub.providers.base import (
    Account,
    Adapter,
    Answer,
    AuthError,
    CallbackRequest,
    Event,
    Option,
    ParseError,
    PlannedReport,
    Record,
    SimulatedCallback,
)
from dlrhub.providers.common import (
    FORM,
    as_utc,
    check_skew,
    coded_answer,
    e164,
    form_body,
    key_pair,
    require_fields,
    same_secret,
    text,
    to_count,
)

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# The headers simulate() signs; Huawei's own pushes also sign connection and
# content-length (docs/providers/huawei.md), which an HTTP client sets itself.
SIMULATED_SIGNED_HEADERS = ("content-type", "host", "x-sdk-date")

# Huawei's official pattern (推送AKSK验证, sms_05_0064), anchored so that nothing trails it.
_AUTHORIZATION = re.compile(
    r"SDK-HMAC-SHA256\s+Access=([^,]+),\s?SignedHeaders=([^,]+),\s?Signature=(\w+)")

# status → status, from the "Status常见取值" table (docs/providers/huawei.md, CONFIRMED values).
# ACCEPTD is missing on purpose: its meaning is a GUESS, so the account option decides.
STATUS = {
    "DELIVRD": "delivered",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "UNKNOWN": "unknown",
}
# The table's failures: undelivered, deleted, the E200018…E200038 platform errors, the
# rate limits, and BEY… (truncated in our copy of the table). CONFIRMED.
_FAILED = re.compile(r"UNDELIV|DELETED|MILIMIT|LIMIT|E2000(?:1[89]|2[0-9]|3[0-8])|BEY.*")
# A code in none of these (RTE_ERR, say) is failed by default, as docs/providers/huawei.md guesses;
# the account option can make it `unknown` instead.
# The table's failure codes, the generic one first: Huawei passes no carrier code in
# `status` (its `orgCode` might be one, but its meaning is a guess), so a simulated
# failure is one of these.
FAILURE_CODES = ("UNDELIV", "EXPIRED", "DELETED", "REJECTD", "UNKNOWN", "MILIMIT", "LIMIT",
                 *(f"E2000{n}" for n in range(18, 39)))
ACCEPTD_OPTION = "acceptd_status"
UNLISTED_OPTION = "unlisted_status"


def canonical_request(method: str, path: str, query: str, headers: Mapping[str, str],
                      signed_headers: Sequence[str], body: bytes) -> str:
    """Build Huawei APIG's canonical request, as its signer SDK does.

    ``headers`` must be keyed by lower-case names and hold every signed header; the URI
    gets its trailing "/" and the query is sorted and RFC 3986-encoded, like the SDK's.
    """
    segments = [quote(part, safe="~") for part in unquote(path).split("/")]
    uri = "/".join(segments) or "/"
    if not uri.endswith("/"):
        uri += "/"
    names = sorted(name.lower() for name in signed_headers)
    return "\n".join([
        method.upper(),
        uri,
        _canonical_query(query),
        "".join(f"{name}:{headers[name].strip()}\n" for name in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])


def apig_signature(secret_key: str, sdk_date: str, canonical: str) -> str:
    """Return the hex HMAC-SHA256 signature of a canonical request at ``sdk_date``."""
    string_to_sign = "\n".join(
        [ALGORITHM, sdk_date, hashlib.sha256(canonical.encode()).hexdigest()])
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def _canonical_query(query: str) -> str:
    """Sort and re-encode a raw query string the way the APIG signer SDK does."""
    # The SDK splits on "&" and "=" and unquotes (not unquote_plus), skipping empty keys.
    values: dict[str, list[str]] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key:
            values.setdefault(unquote(key), []).append(unquote(value))
    return "&".join(
        f"{quote(key, safe='~')}={quote(value, safe='~')}"
        for key in sorted(values)
        for value in sorted(values[key])
    )


def _utc_time(value: Any, account: Account, field: str) -> datetime | None:
    """Read a Huawei ISO time ("…Z"); a zone-less one is read in the account's zone."""
    raw = text(value)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not a time of the form {TIME_FORMAT}: "
                         f"{raw!r}") from ex
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=account.timezone)
    return as_utc(moment, field, raw)



def _planned(report: PlannedReport) -> dict[str, str]:
    """Render a planned report (or one part of it) as Huawei's form fields."""
    failed = report.status != "delivered"
    fields = {"sequence": str(report.part or 1), "total": str(report.segments),
              "updateTime": report.reported_at.astimezone(UTC).strftime(TIME_FORMAT),
              "source": "2", "smsMsgId": report.message_id,
              "status": report.code if failed and report.code else "DELIVRD",
              "to": report.phone}
    if report.reference:
        fields["extend"] = report.reference
    return fields


class Huawei(Adapter):
    """Adapter for Huawei Cloud SMS status reports and uplink messages."""

    name = "huawei"
    title = "Huawei Cloud SMS (MSGSMS)"
    content_types = frozenset({FORM})
    optional_credentials: tuple[str, ...] = ("access_key", "secret_key")
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES
    reports_parts = True
    # Huawei times carry their "Z"; the zone only reads a time that lacks one.
    options: Mapping[str, Option] = {
        ACCEPTD_OPTION: Option(
            default="delivered",
            choices=("delivered", "pending", "failed"),
            help="Status for ACCEPTD reports: 'accepted by the end user' in CMPP, so "
                 "delivered by default, but Huawei does not define it (a guess).",
        ),
        UNLISTED_OPTION: Option(
            default="failed",
            choices=("failed", "unknown"),
            help="Status for a code that is not in Huawei's status table (RTE_ERR, say). "
                 "Failed is a guess; unknown keeps such reports undecided.",
        ),
    }

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check the ``SDK-HMAC-SHA256`` signature when the account holds an AK/SK pair."""
        pair = key_pair(account, "access_key", "secret_key")
        if pair is None:
            return
        access_key, secret_key = pair
        sdk_date = request.header("x-sdk-date")
        if sdk_date is None:
            raise AuthError("the X-Sdk-Date header is missing")
        sdk_date = sdk_date.strip()
        try:
            signed_at = datetime.strptime(sdk_date, SDK_DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError as ex:
            raise AuthError(f"the X-Sdk-Date header is not of the form "
                            f"{SDK_DATE_FORMAT}") from ex
        check_skew(signed_at, now, max_skew, "X-Sdk-Date")
        match = _AUTHORIZATION.fullmatch((request.header("authorization") or "").strip())
        if match is None:
            raise AuthError("the Authorization header is missing or not SDK-HMAC-SHA256")
        access, signed, signature = (group.strip() for group in match.groups())
        if not same_secret(access, access_key):
            raise AuthError("the Authorization Access is not the account's access_key")
        names = [name.strip().lower() for name in signed.split(";") if name.strip()]
        if not names:
            raise AuthError("the Authorization header signs no headers")
        for name in names:
            if request.header(name) is None:
                raise AuthError(f"the signed header {name} is missing")
        canonical = canonical_request(request.method, request.path, request.query,
                                      {n: request.headers[n] for n in names}, names,
                                      request.body)
        if not same_secret(signature, apig_signature(secret_key, sdk_date, canonical),
                           ignore_case=True):
            raise AuthError("the SDK-HMAC-SHA256 signature does not match")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the one status report or uplink message of a form body."""
        data = form_body(request)
        if "status" in data:
            require_fields(data, ("smsMsgId", "status"), "status report")
            return [Record("status", data)]
        if "body" in data or "from" in data:
            require_fields(data, ("smsMsgId", "from"), "uplink message")
            require_fields(data, ("body",), "uplink message")
            return [Record("inbound", data)]
        raise ParseError("the body is neither a status report (status) nor an uplink "
                         "message (from, body)")

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a status report (one per part of a long SMS) or an uplink message."""
        data = record.data
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                message_id=text(data.get("smsMsgId")),
                phone=e164(data.get("from"), region=account.default_region),
                text=str(data.get("body")),
                reported_at=_utc_time(data.get("createTime"), account, "createTime"),
                raw=data,
            )
        provider_status = str(data["status"]).strip().upper()
        status = STATUS.get(provider_status)
        if status is None:
            status = self._status_of(provider_status, account)
        failed = status != "delivered"
        total = to_count(data.get("total"), "total")
        sequence = text(data.get("sequence"))
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("smsMsgId")),
            reference=text(data.get("extend")),
            phone=e164(data.get("to"), region=account.default_region),
            provider_status=provider_status,
            error_code=provider_status if failed else None,
            error_message=text(data.get("statusDesc")) if failed else None,
            segments=total,
            reported_at=_utc_time(data.get("updateTime"), account, "updateTime"),
            raw=data,
            # Every part of a long SMS is reported with the same id and status.
            part=sequence if total is not None and total > 1 else None,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``{"returnCode": 0, …}``; Huawei ignores the body but wants 401 on auth."""
        return coded_answer(ok, status, reason, code="returnCode", message="returnCodeDesc",
                            ok_message="Success")

    def failure_status(self, code: str) -> str:
        """Return the status of a failure code, as the default options read it."""
        return STATUS.get(code) or self._status_of(code, Account(id="", provider=self.name))

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status", reports: Sequence[PlannedReport] | None = None,
                 host: str = "localhost", path: str = "/") -> SimulatedCallback:
        """Build one status report or uplink message, signed when the account has AK/SK.

        The signature covers the Host header and the path, which only the caller knows:
        the simulator passes the host (with its port, as sent) and path of the URL it
        posts to. ``count`` is ignored: Huawei pushes one report per request, so of
        ``reports`` only the first is sent (one part of a long SMS per request).
        """
        stamp = now.astimezone(UTC).strftime(TIME_FORMAT)
        if reports and kind == "status":
            fields = _planned(reports[0])
        elif kind == "inbound":
            fields = {"smsMsgId": f"sim-mo-{seq}", "from": f"+86139{seq % 10**8:08d}",
                      "to": "1069000000", "body": f"reply {seq}", "createTime": stamp}
        else:
            fields = {"sequence": "1", "total": "1", "updateTime": stamp, "source": "2",
                      "smsMsgId": f"sim-{seq}_1",
                      "status": "E200027" if seq % 10 == 9 else "DELIVRD",
                      "extend": f"ref-{seq}", "to": f"+86138{seq % 10**8:08d}"}
        body = urlencode(fields).encode()
        headers: dict[str, str] = {}
        pair = key_pair(account, "access_key", "secret_key")
        if pair is not None:
            access_key, secret_key = pair
            sdk_date = now.astimezone(UTC).strftime(SDK_DATE_FORMAT)
            signed = {"content-type": FORM, "host": host, "x-sdk-date": sdk_date}
            canonical = canonical_request("POST", path, "", signed,
                                          SIMULATED_SIGNED_HEADERS, body)
            signature = apig_signature(secret_key, sdk_date, canonical)
            headers = {
                "X-Sdk-Date": sdk_date,
                "Authorization": f"{ALGORITHM} Access={access_key}, SignedHeaders="
                                 f"{';'.join(SIMULATED_SIGNED_HEADERS)}, "
                                 f"Signature={signature}",
            }
        return SimulatedCallback(body, headers, FORM, 1)

    @staticmethod
    def _status_of(code: str, account: Account) -> str:
        """Return the status of a code outside STATUS: a failure, or the options' say."""
        if _FAILED.fullmatch(code):
            return "failed"
        name = ACCEPTD_OPTION if code == "ACCEPTD" else UNLISTED_OPTION
        option = Huawei.options[name]
        value = account.options.get(name, option.default)
        # An out-of-range setting must not make every such report unreadable.
        return str(value) if value in option.choices else str(option.default)


provider = Huawei()
