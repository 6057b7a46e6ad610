"""AWS End User Messaging SMS events, delivered by an SNS HTTPS subscription.

SNS POSTs a JSON envelope (``Content-Type: text/plain``): ``Type`` is ``Notification``,
``SubscriptionConfirmation`` or ``UnsubscribeConfirmation``; a Notification's
``Message`` is the SMS event as a JSON *string* (``eventType``, ``isFinal``,
``messageId``, ``destinationPhoneNumber``, ``messageStatus``, ``eventTimestamp`` in
ms, ``messageRequestTimestamp``, ``totalMessageParts``, ``totalMessagePrice``...).

Every envelope is signed: SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA, over the
canonical string of its fields (``name\\nvalue\\n`` in a fixed order), with the X.509
certificate at ``SigningCertURL``. That URL is only fetched when it is https on a host
``sns.<region>.amazonaws.com`` (``.amazonaws.com.cn`` in China); the fetch itself is
the caller's opener (``CERTIFICATES.opener``, installed by the service layer with its
SSRF guard), and certificates are cached by URL in the process.

Sources: https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html,
https://docs.aws.amazon.com/sms-voice/latest/userguide/configuration-sets-event-types.html,
https://docs.aws.amazon.com/end-user-messaging/latest/userguide/nx-features-messaging-events.html.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from dlrhub.core.vocabulary import EventType
from dlrhub.providers.base import (
    Account,
    Adapter,
    Answer,
    AuthError,
    CallbackRequest,
    Event,
    ParseError,
    PlannedReport,
    Record,
    SimulatedCallback,
    SubscriptionChange,
)
from dlrhub.providers.common import (
    JSON,
    e164,
    json_answer,
    json_body,
    require_object,
    same_secret,
    text,
    to_count,
    unix_time,
)

TEXT = "text/plain"
# An ARN is at most 2,048 characters (IAM's limit); SNS's are far shorter.
MAX_ARN = 2048
# ConfirmSubscription answers XML whose one fact dlrhub keeps is the subscription's ARN.
_SUBSCRIPTION_ARN = re.compile(rb"<SubscriptionArn>\s*(arn:[\x21-\x3b\x3d-\x7e]{1,2048}?)\s*"
                               rb"</SubscriptionArn>")
NOTIFICATION = "Notification"
CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE = "UnsubscribeConfirmation"
# The fields each type signs, in the order of the canonical string.
SIGNED = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    CONFIRMATION: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                   "TopicArn", "Type"),
    UNSUBSCRIBE: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                  "TopicArn", "Type"),
}
HASHES: Mapping[str, Callable[[], hashes.HashAlgorithm]] = {
    "1": hashes.SHA1, "2": hashes.SHA256,
}
# Made once: the padding and the hash descriptors hold no state of a verification.
_PKCS1 = padding.PKCS1v15()
_DIGESTS = {version: make() for version, make in HASHES.items()}
# sns.<region>.amazonaws.com(.cn): a region is letters, a dash, letters, a dash and a
# digit (us-east-1, eu-central-2, us-gov-west-1, cn-north-1). Any label would also take
# an S3 bucket named "sns" (sns.s3.amazonaws.com), whose owner could serve a certificate.
SNS_HOST = re.compile(r"sns\.[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]\.amazonaws\.com(\.cn)?")
# eventType → status; TEXT_SUCCESSFUL is delivered only when isFinal (the carrier took
# it; AWS uses it and TEXT_DELIVERED interchangeably by country).
STATUS = {
    "TEXT_DELIVERED": "delivered",
    "TEXT_SUCCESSFUL": "delivered",
    "TEXT_QUEUED": "pending",
    "TEXT_PENDING": "pending",
    "TEXT_BLOCKED": "rejected",
    "TEXT_CARRIER_BLOCKED": "rejected",
    "TEXT_SPAM": "rejected",
    "TEXT_PROTECT_BLOCKED": "rejected",
    "TEXT_INVALID": "rejected",
    "TEXT_INVALID_MESSAGE": "rejected",
    "TEXT_TTL_EXPIRED": "expired",
    "TEXT_CARRIER_UNREACHABLE": "failed",
    "TEXT_UNREACHABLE": "failed",
    "TEXT_UNKNOWN": "unknown",
}
FAILURE_CODES = ("TEXT_UNKNOWN", "TEXT_BLOCKED", "TEXT_CARRIER_BLOCKED", "TEXT_SPAM",
                 "TEXT_PROTECT_BLOCKED", "TEXT_INVALID", "TEXT_INVALID_MESSAGE",
                 "TEXT_TTL_EXPIRED", "TEXT_CARRIER_UNREACHABLE", "TEXT_UNREACHABLE")
_CACHE_SIZE = 32

Opener = Callable[[str], bytes]


def allowed_sns_url(url: str) -> bool:
    """Return whether ``url`` is https on ``sns.<region>.amazonaws.com`` (no port, no user)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (parts.scheme == "https" and port in (None, 443) and "@" not in parts.netloc
            and parts.hostname is not None and SNS_HOST.fullmatch(parts.hostname) is not None)


def _no_opener(url: str) -> bytes:
    raise OSError("no certificate opener is installed")


class CertificateStore:
    """The signing certificates' public keys, fetched by ``opener`` and cached by URL."""

    def __init__(self, opener: Opener = _no_opener) -> None:
        self.opener = opener
        self._keys: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, url: str, pem: bytes) -> None:
        """Cache the certificate ``pem`` as the one at ``url``."""
        key = _public_key(pem)
        with self._lock:
            self._keys[url] = key
            self._keys.move_to_end(url)
            while len(self._keys) > _CACHE_SIZE:
                self._keys.popitem(last=False)

    def key(self, url: str) -> rsa.RSAPublicKey:
        """Return the public key of the certificate at ``url``, or raise ``AuthError``."""
        # A cached URL was either checked before its fetch or put here by this process
        # (the simulator's, on a host that never resolves): safe to use unchecked.
        with self._lock:
            found = self._keys.get(url)
        if found is not None:
            return found
        if not allowed_sns_url(url):
            raise AuthError("SigningCertURL is not https on sns.<region>.amazonaws.com")
        try:
            pem = self.opener(url)
            self.put(url, pem)
        except (OSError, ValueError) as ex:
            raise AuthError(f"the signing certificate could not be fetched: {ex}") from ex
        with self._lock:
            return self._keys[url]


def _public_key(pem: bytes) -> rsa.RSAPublicKey:
    cert = x509.load_pem_x509_certificate(pem)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the signing certificate's key is not RSA")
    return key


CERTIFICATES = CertificateStore()


def canonical(doc: Mapping[str, Any]) -> bytes:
    """Return the string SNS signs: ``name\\nvalue\\n`` for each signed field present."""
    fields = SIGNED.get(str(doc.get("Type")))
    if fields is None:
        raise AuthError("the envelope's Type is not one SNS signs")
    out = []
    for name in fields:
        value = doc.get(name)
        if value is None:
            if name == "Subject":
                continue
            raise AuthError(f"the envelope has no {name}")
        out.append(f"{name}\n{value}\n")
    return "".join(out).encode()


def sign(doc: Mapping[str, Any], private_key: rsa.RSAPrivateKey, version: str = "2") -> str:
    """Return the base64 signature SNS would put on ``doc`` (tests and simulations)."""
    raw = private_key.sign(canonical(doc), padding.PKCS1v15(), HASHES[version]())
    return base64.b64encode(raw).decode()


# The envelope last read, by the body it was read from: the callback path reads it in
# authenticate and again in extract, and only reads it (the record is a new dict).
_LAST: tuple[bytes, dict[str, Any]] = (b"", {})


def _envelope(request: CallbackRequest) -> dict[str, Any]:
    """Return the SNS envelope of ``request``, read once per request body.

    The body is matched by identity, so a thread that finds another request's envelope
    (the API serves several at once) reads its own; an empty body is never cached.
    """
    global _LAST
    body, doc = _LAST
    if body is request.body and body:
        return doc
    doc = require_object(json_body(request), "the body")
    _LAST = (request.body, doc)
    return doc


def confirm_subscription(url: str, opener: Opener) -> bytes:
    """Confirm a subscription by GETting its ``SubscribeURL`` with ``opener``.

    Refuses any URL that is not https on ``sns.<region>.amazonaws.com``.
    """
    if not allowed_sns_url(url):
        raise ValueError("SubscribeURL is not https on sns.<region>.amazonaws.com")
    return opener(url)


class AwsSns(Adapter):
    """Adapter for AWS End User Messaging SMS events through an SNS HTTPS subscription."""

    name = "aws_sns"
    title = "AWS End User Messaging SMS (SNS)"
    content_types = frozenset({TEXT, JSON})
    optional_credentials: tuple[str, ...] = ("topic_arn",)
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES

    def failure_status(self, code: str) -> str:
        """Return the status a failure event of ``code`` (an eventType) reads as."""
        return STATUS.get(code, "failed")

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check the TopicArn (when the account names one) and the envelope's signature."""
        try:
            doc = _envelope(request)
        except ParseError as ex:
            raise AuthError("the body is not an SNS envelope to check") from ex
        topic = account.credentials.get("topic_arn") or ""
        if topic and not same_secret(text(doc.get("TopicArn")), topic):
            raise AuthError("the TopicArn is not the account's topic")
        version = text(doc.get("SignatureVersion")) or ""
        if version not in _DIGESTS:
            raise AuthError("SignatureVersion is not 1 or 2")
        try:
            signature = base64.b64decode(str(doc.get("Signature") or ""), validate=True)
        except (binascii.Error, ValueError) as ex:
            raise AuthError("the Signature is not base64") from ex
        key = CERTIFICATES.key(str(doc.get("SigningCertURL") or ""))
        try:
            key.verify(signature, canonical(doc), _PKCS1, _DIGESTS[version])
        except InvalidSignature as ex:
            raise AuthError("the Signature does not match the envelope") from ex

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the SMS event of a Notification; a (un)subscription carries none."""
        doc = _envelope(request)
        kind = text(doc.get("Type"))
        if kind in (CONFIRMATION, UNSUBSCRIBE):
            if not text(doc.get("SubscribeURL")):
                raise ParseError(f"the {kind} has no SubscribeURL")
            return []
        if kind != NOTIFICATION:
            raise ParseError("Type is none of Notification, SubscriptionConfirmation, "
                             "UnsubscribeConfirmation")
        message = doc.get("Message")
        if not isinstance(message, str):
            raise ParseError("the Notification's Message is not a string")
        try:
            event = orjson.loads(message)
        except orjson.JSONDecodeError as ex:
            raise ParseError(f"the Message is not an SMS event (JSON): {ex}") from ex
        data = require_object(event, "the Message")
        if not text(data.get("eventType")) or not text(data.get("messageId")):
            raise ParseError("the SMS event has no eventType or no messageId")
        return [Record("status", {**data, "snsMessageId": doc.get("MessageId"),
                                  "topicArn": doc.get("TopicArn")})]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map an SMS event to the event shape (``isFinal`` decides TEXT_SUCCESSFUL)."""
        data = record.data
        event_type = str(data["eventType"]).strip().upper()
        status = STATUS.get(event_type, "unknown")
        if event_type == "TEXT_SUCCESSFUL" and data.get("isFinal") is not True:
            status = "pending"
        failed = status in ("failed", "rejected", "expired", "unknown")
        price = data.get("totalMessagePrice")
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("messageId")),
            phone=e164(data.get("destinationPhoneNumber"), region=account.default_region),
            provider_status=text(data.get("messageStatus")) or event_type,
            error_code=event_type if failed else None,
            error_message=text(data.get("messageStatusDescription")) if failed else None,
            segments=to_count(data.get("totalMessageParts"), "totalMessageParts"),
            price=f"{price} USD" if isinstance(price, int | float) else None,
            submitted_at=unix_time(data.get("messageRequestTimestamp"),
                                   "messageRequestTimestamp"),
            reported_at=unix_time(data.get("eventTimestamp"), "eventTimestamp"),
            # SNS keeps a notification's MessageId on each retry of it.
            report_id=text(data.get("snsMessageId")),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``{"status":"ok"}``; SNS reads only the HTTP status (any 2xx)."""
        if ok:
            return json_answer(200, {"status": "ok"})
        return json_answer(status, {"status": "error", "reason": reason or "error"})

    def handshake_url(self, request: CallbackRequest) -> str | None:
        """Return a SubscriptionConfirmation's ``SubscribeURL`` if it is on an SNS host."""
        try:
            doc = _envelope(request)
        except ParseError:
            return None
        url = text(doc.get("SubscribeURL"))
        if doc.get("Type") != CONFIRMATION or url is None or not allowed_sns_url(url):
            return None
        return url

    def subscription_change(self, request: CallbackRequest,
                            confirmed: bytes | None) -> SubscriptionChange | None:
        """Return a confirmed subscription (with its ARN from SNS's answer), or an ended one.

        A SubscriptionConfirmation counts once dlrhub has visited its SubscribeURL
        (``confirmed`` is SNS's answer); an UnsubscribeConfirmation says the topic no
        longer sends here (dlrhub does not subscribe again: the tenant decides).
        """
        try:
            doc = _envelope(request)
        except ParseError:
            return None
        topic = text(doc.get("TopicArn"))
        if topic is None or len(topic) > MAX_ARN:
            return None
        if doc.get("Type") == CONFIRMATION and confirmed is not None:
            found = _SUBSCRIPTION_ARN.search(confirmed)
            return SubscriptionChange(topic, "confirmed",
                                      found.group(1).decode() if found else None)
        if doc.get("Type") == UNSUBSCRIBE:
            return SubscriptionChange(topic, "unsubscribed")
        return None

    def setup(self, callback_url: str) -> Mapping[str, str]:
        """Tell the tenant how the subscription is made and confirmed."""
        return {"subscription": "Subscribe this URL (protocol HTTPS) to the SNS topic of "
                                "the configuration set's event destination; dlrhub "
                                "confirms the subscription by itself when SNS asks."}

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one signed Notification, with this process's simulation certificate."""
        report = reports[0] if reports else PlannedReport(
            message_id=f"sim-{seq:08d}-0000-4000-8000-000000000000",
            phone=f"+1206555{seq % 10**4:04d}",
            status="failed" if seq % 10 == 9 else "delivered",
            code="TEXT_UNREACHABLE" if seq % 10 == 9 else None,
            submitted_at=now - timedelta(seconds=1), reported_at=now)
        failed = report.status != "delivered"
        event_type = (report.code or FAILURE_CODES[0]) if failed else "TEXT_DELIVERED"
        event = {"eventType": event_type, "eventVersion": "1.0",
                 "eventTimestamp": int(report.reported_at.timestamp() * 1000),
                 "isFinal": True, "originationPhoneNumber": "+12065550152",
                 "destinationPhoneNumber": report.phone, "isInternationalSend": False,
                 "messageId": report.message_id,
                 "messageRequestTimestamp": int(report.submitted_at.timestamp() * 1000),
                 "messageEncoding": "GSM", "messageType": "TRANSACTIONAL",
                 "messageStatus": event_type.removeprefix("TEXT_"),
                 "messageStatusDescription": "simulated", "context": {},
                 "totalMessageParts": report.segments, "totalMessagePrice": 0.00581,
                 "totalCarrierFee": 0.0}
        url, private_key = _simulation_key()
        doc: dict[str, Any] = {
            "Type": NOTIFICATION, "MessageId": f"sim-{seq}",
            "TopicArn": account.credentials.get("topic_arn")
            or "arn:aws:sns:us-east-1:123456789012:dlrhub-simulated",
            "Message": orjson.dumps(event).decode(),
            "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "SignatureVersion": "2", "SigningCertURL": url,
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}
        doc["Signature"] = sign(doc, private_key)
        return SimulatedCallback(orjson.dumps(doc), {"x-amz-sns-message-type": NOTIFICATION},
                                 "text/plain; charset=UTF-8", 1)


_SIMULATION: list[tuple[str, rsa.RSAPrivateKey]] = []
_SIMULATION_LOCK = threading.Lock()


def _simulation_key() -> tuple[str, rsa.RSAPrivateKey]:
    """Return this process's simulation certificate URL and key, made on first use.

    The key is random and lives only in this process's memory, and its certificate is
    cached under a random URL off SNS: no callback from outside can be signed by it, and
    a server in another process refuses the simulator's callbacks (401) unfetched.
    """
    with _SIMULATION_LOCK:
        if not _SIMULATION:
            key, pem = make_certificate()
            # .invalid never resolves (RFC 2606) and is no SNS host: another process
            # refuses it without fetching anything.
            url = f"https://dlrhub-simulator.invalid/{secrets.token_hex(16)}.pem"
            CERTIFICATES.put(url, pem)
            _SIMULATION.append((url, key))
        return _SIMULATION[0]


def make_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    """Return a new RSA key and a self-signed PEM certificate for it (tests, simulations)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime(2020, 1, 1, tzinfo=UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=365 * 30))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


provider = AwsSns()
