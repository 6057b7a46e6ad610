"""Helpers every adapter shares: body readers, field checks, times, phones, answers."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

import orjson
import phonenumbers
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from dlrhub.providers.base import Account, Answer, AuthError, CallbackRequest, ParseError

JSON = "application/json"
ISO_LOCAL = "%Y-%m-%d %H:%M:%S"
FORM = "application/x-www-form-urlencoded"
XML_TYPES = frozenset({"application/xml", "text/xml"})
# phonenumbers reads letters as keypad digits ("13xxxxxxxxx" would become a real-looking
# number); masked or vanity input must be kept as given instead.
_DIALABLE = re.compile(r"\+?[0-9][0-9 ()\-.]*")
# Mainland-China mobile numbers (11 digits, 13x-19x) are most of what these providers
# report; formatting them needs no metadata look-up, and phonenumbers costs ~50 µs each.
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Counts (segments, parts) are stored in 32-bit integer columns.
_INT4 = 2**31 - 1
_BOM = b"\xef\xbb\xbf"


def json_body(request: CallbackRequest) -> Any:
    """Decode a JSON body (a UTF-8 BOM is skipped), or raise ``ParseError``.

    Characters a database refuses (NUL) are left in: ``services.storable`` makes every
    adapter's output storable in one place.
    """
    body = request.body.removeprefix(_BOM)
    if not body.strip():
        raise ParseError("the body is empty")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as ex:
        raise ParseError(f"the body is not valid JSON: {ex}") from ex
    return doc


def form_body(request: CallbackRequest) -> dict[str, str]:
    """Decode a form-urlencoded body (UTF-8, last value wins), or raise ``ParseError``."""
    try:
        text = request.body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                          encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError) as ex:
        raise ParseError(f"the body is not a valid form: {ex}") from ex
    return dict(pairs)


def query_fields(request: CallbackRequest) -> dict[str, str]:
    """Decode a GET's query string (UTF-8, last value wins), or raise ``ParseError``."""
    try:
        pairs = parse_qsl(request.query, keep_blank_values=True, encoding="utf-8",
                          errors="strict")
    except (UnicodeDecodeError, ValueError) as ex:
        raise ParseError(f"the query string is not valid: {ex}") from ex
    return dict(pairs)
def form_pairs(body: bytes) -> tuple[tuple[str, str], ...]:
    """Return a form body's pairs in order (strict UTF-8), or raise ``ParseError``.

    For providers that sign every form parameter: the signature check and ``extract``
    read the same body one after the other, and parsing it costs more than the HMAC.
    """
    return _form_pairs(body)


# A few entries: the two reads of one callback follow each other in one thread, and a
# body may be up to DLRHUB_MAX_BODY_BYTES.
@lru_cache(maxsize=16)
def _form_pairs(body: bytes) -> tuple[tuple[str, str], ...]:
    try:
        text = body.decode("utf-8")
        return tuple(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                               encoding="utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError) as ex:
        raise ParseError(f"the body is not a valid form: {ex}") from ex


def xml_body(request: CallbackRequest) -> Element:
    """Parse an XML body without entity expansion or DTD fetching, or raise ``ParseError``."""
    try:
        root: Element = SafeET.fromstring(request.body, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as ex:
        raise ParseError(f"the body is not valid XML: {ex}") from ex
    except LookupError as ex:
        # An encoding= Python does not know, or a codec that is not a text encoding
        # ("hex", "rot13"): the sender's mistake, not ours.
        raise ParseError(f"the body's XML declaration names an unusable encoding: "
                         f"{ex}") from ex
    return root


def require_object(value: Any, where: str) -> dict[str, Any]:
    """Return ``value`` when it is a JSON object, else raise ``ParseError``."""
    if not isinstance(value, dict):
        raise ParseError(f"{where} must be an object")
    return value


def require_fields(data: Mapping[str, Any], fields: tuple[str, ...], where: str) -> None:
    """Raise ``ParseError`` unless every field is present as a non-blank string or number."""
    for name in fields:
        value = data.get(name)
        # The common cases first (the API checks every record of a 100-record body
        # before answering); a bool is an int to isinstance, not to type().
        if isinstance(value, str):
            if value.strip():
                continue
            raise ParseError(f"{where}: field '{name}' is blank")
        kind = type(value)
        if kind is int or kind is float:
            continue
        if value is None:
            raise ParseError(f"{where}: field '{name}' is missing")
        raise ParseError(f"{where}: field '{name}' must be a string or a number")


def require_exact_id(data: Mapping[str, Any], name: str, where: str) -> None:
    """Raise ``ParseError`` unless an id is a string or an integer the JSON parser kept.

    orjson reads an integer beyond 64 bits as a float: such an id (or one written with
    a fraction or an exponent) cannot be kept as the digits sent, so it is refused.
    """
    if isinstance(data.get(name), float):
        raise ParseError(f"{where}: field '{name}' is not an id dlrhub can keep exactly "
                         f"(an integer beyond 64 bits, or not an integer)")


def text(value: Any) -> str | None:
    """Return a provider value as a stripped string, ``None`` when absent or blank."""
    if value is None or isinstance(value, dict | list):
        return None
    out = str(value).strip()
    return out or None


def to_int(value: Any, field: str) -> int | None:
    """Read an integer the provider may send as a number or a string."""
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not a whole number: {value!r}") from ex


def to_count(value: Any, field: str) -> int | None:
    """Read a count (segments, parts) that must fit the 32-bit column it is stored in."""
    number = to_int(value, field)
    if number is not None and not -_INT4 <= number <= _INT4:
        raise ParseError(f"field '{field}' is out of range: {value!r}")
    return number


def as_utc(moment: datetime, field: str, raw: str) -> datetime:
    """Return an aware time in UTC, or raise ``ParseError`` when UTC cannot hold it.

    ``0001-01-01 00:00`` east of Greenwich (or ``9999-12-31 23:59`` west of it) has
    no UTC time.
    """
    try:
        return moment.astimezone(UTC)
    except OverflowError as ex:
        raise ParseError(f"field '{field}' is out of range: {raw!r}") from ex


# Times read by ``local_time``, by (text, format, zone): a batch of receipts mostly shares
# a few times to the second, and reading one (parse, zone, UTC) cost 4 us here, half of
# normalizing a Tencent report. Emptied when full.
_LOCAL_TIMES: dict[tuple[str, str, ZoneInfo], datetime] = {}
_MAX_LOCAL_TIMES = 4096


def local_time(value: Any, fmt: str, tz: ZoneInfo, field: str) -> datetime | None:
    """Read a zone-less provider time in the account's zone and return it in UTC."""
    raw = text(value)
    if raw is None:
        return None
    known = _LOCAL_TIMES.get((raw, fmt, tz))
    if known is not None:
        return known
    moment = _read_local_time(raw, fmt, tz, field)
    if len(_LOCAL_TIMES) >= _MAX_LOCAL_TIMES:
        _LOCAL_TIMES.clear()
    _LOCAL_TIMES[(raw, fmt, tz)] = moment
    return moment


def _read_local_time(raw: str, fmt: str, tz: ZoneInfo, field: str) -> datetime:
    try:
        if fmt == ISO_LOCAL and len(raw) == 19 and raw[10] == " ":
            naive = datetime.fromisoformat(raw)  # the same format, ten times faster
        else:
            naive = datetime.strptime(raw, fmt)  # noqa: DTZ007 - the zone is attached below
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not a time of the form {fmt}: {raw!r}") from ex
    return as_utc(naive.replace(tzinfo=tz), field, raw)


def unix_time(value: Any, field: str) -> datetime | None:
    """Read a Unix time in seconds (or milliseconds, when it has 13 digits) as UTC."""
    number = to_int(value, field)
    if number is None:
        return None
    if number > 10**11:
        number //= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError) as ex:
        raise ParseError(f"field '{field}' is not a Unix time: {value!r}") from ex


def e164(number: Any, *, region: str | None = None, country_code: str | None = None,
         international: bool = False) -> str | None:
    """Return a phone number in E.164, or as given when it cannot be parsed.

    ``country_code`` (Tencent's ``nationcode``) wins over ``region``; ``international``
    says the number already starts with its country code, only without the ``+``.
    """
    raw = text(number)
    if raw is None:
        return None
    if not _DIALABLE.fullmatch(raw):
        return raw
    if _CN_MOBILE.fullmatch(raw) and (country_code in ("86", "+86") if country_code
                                      else region == "CN" and not international):
        return f"+86{raw}"
    if raw.startswith("+86") and _CN_MOBILE.fullmatch(raw, 3):
        return raw  # already a mainland mobile in E.164, as phonenumbers would give it
    if international and raw.startswith("86") and _CN_MOBILE.fullmatch(raw, 2):
        return f"+{raw}"  # the same, only without its "+" (Vonage's msisdn, Bird's)
    candidate = raw
    use_region = region
    if country_code and not raw.startswith("+"):
        candidate = f"+{country_code.lstrip('+')}{raw}"
        use_region = None
    elif international and not raw.startswith("+"):
        candidate = f"+{raw}"
        use_region = None
    try:
        parsed = phonenumbers.parse(candidate, use_region)
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_possible_number(parsed):
        return raw
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def same_secret(given: str | None, expected: str, *, ignore_case: bool = False) -> bool:
    """Compare a received signature with the expected one in constant time."""
    if given is None:
        return False
    if ignore_case:
        given, expected = given.lower(), expected.lower()
    return hmac.compare_digest(given.encode(), expected.encode())


def check_skew(moment: datetime, now: datetime, max_skew: int, header: str) -> None:
    """Raise ``AuthError`` when a signed timestamp is further than ``max_skew`` from now."""
    if abs(now - moment) > timedelta(seconds=max_skew):
        raise AuthError(f"the {header} timestamp is more than {max_skew}s away from now")


def epoch_header(request: CallbackRequest, name: str) -> datetime:
    """Read a signed Unix-time header (seconds or milliseconds), or raise ``AuthError``."""
    value = request.header(name)
    # isascii: "²" is a digit to isdigit(), but not to int().
    if value is None or not (value.strip().isascii() and value.strip().isdigit()):
        raise AuthError(f"the {name} header is missing or not a Unix time")
    number = int(value.strip())
    if number > 10**11:
        number //= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError) as ex:
        raise AuthError(f"the {name} header is not a Unix time") from ex


def key_pair(account: Account, key: str, secret: str) -> tuple[str, str] | None:
    """Return an account's optional signing key pair, ``None`` when it has none.

    Half a pair is a misconfiguration: accepting unsigned callbacks would hide it.
    """
    first = account.credentials.get(key) or ""
    second = account.credentials.get(secret) or ""
    if first and second:
        return first, second
    if first or second:
        raise AuthError(f"the account has only one of {key} and {secret}")
    return None


def json_field(body: bytes, name: str) -> Any:
    """Return a field of a JSON object body, or ``None`` if the body is not one."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return doc.get(name) if isinstance(doc, dict) else None


def json_answer(status: int, doc: Mapping[str, Any]) -> Answer:
    """Build a JSON answer."""
    return Answer(status=status, body=orjson.dumps(doc), content_type=JSON)


def coded_answer(ok: bool, status: int, reason: str, *, code: str, message: str,
                 ok_message: str, ok_code: int = 0, fail_code: int | None = 1) -> Answer:
    """Build the ``{code: 0, message: "ok"}`` answer most providers want, or its failure.

    ``code`` and ``message`` are the provider's key names; a failure carries
    ``fail_code`` (the HTTP status itself when None) and the reason, with ``status``.
    """
    if ok:
        return json_answer(200, {code: ok_code, message: ok_message})
    return json_answer(status, {code: status if fail_code is None else fail_code,
                                message: reason or "error"})


def text_answer(status: int, body: str) -> Answer:
    """Build a plain-text answer."""
    return Answer(status=status, body=body.encode(), content_type="text/plain; charset=utf-8")


def split_e164(phone: str) -> tuple[str, str]:
    """Return the calling code and national number of an E.164 number (for simulations)."""
    parsed = phonenumbers.parse(phone)
    return str(parsed.country_code), str(parsed.national_number)


def local_strftime(moment: datetime, tz: ZoneInfo, fmt: str) -> str:
    """Format a moment in a provider's local zone (for simulated callbacks)."""
    return moment.astimezone(tz).strftime(fmt)
