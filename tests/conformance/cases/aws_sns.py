"""AWS End User Messaging SMS through SNS: Notifications carrying the SMS event (the
documented sample ``aws_eum_sms_event.json``, a final failure, a non-final
TEXT_SUCCESSFUL); the SubscriptionConfirmation
(``CONFIRMATION``, no receipt) is checked in tests/unit/providers/test_aws_sns.py.

SNS signs with a certificate at SigningCertURL; the kit signs with a certificate made
here and puts it in the adapter's cache under an SNS URL, so nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from dlrhub.providers import aws_sns
from tests.conformance.catalog import STATUS
from tests.conformance.kit import ProviderKit, Sample
from tests.fixtures import sample

TEXT = "text/plain; charset=UTF-8"
TOPIC = "arn:aws:sns:us-east-1:123456789012:sms-events"
CERT_URL = ("https://sns.us-east-1.amazonaws.com/"
            "SimpleNotificationService-kit0000000000000000000000000000.pem")
KEY, PEM = aws_sns.make_certificate()
OTHER_KEY, _ = aws_sns.make_certificate()
aws_sns.CERTIFICATES.put(CERT_URL, PEM)

_EVENT = orjson.loads(sample("aws_eum_sms_event.json"))


def _envelope(event: Mapping[str, Any], message_id: str) -> dict[str, Any]:
    return {"Type": "Notification", "MessageId": message_id, "TopicArn": TOPIC,
            "Message": orjson.dumps(event).decode(),
            "Timestamp": "2023-06-17T04:11:43.595Z", "SignatureVersion": "2",
            "SigningCertURL": CERT_URL,
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}


CONFIRMATION = {"Type": "SubscriptionConfirmation",
                 "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
                 "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92",
                 "TopicArn": TOPIC,
                 "Message": f"You have chosen to subscribe to the topic {TOPIC}.\n"
                            "To confirm the subscription, visit the SubscribeURL included "
                            "in this message.",
                 "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
                                 f"&TopicArn={TOPIC}&Token=2336412f37",
                 "Timestamp": "2023-06-17T04:10:00.000Z", "SignatureVersion": "1",
                 "SigningCertURL": CERT_URL}


def _sample(name: str, doc: Mapping[str, Any], *expected: dict[str, object]) -> Sample:
    return Sample(name=name, body=orjson.dumps(doc), content_type=TEXT,
                  headers={"x-amz-sns-message-type": str(doc["Type"])}, expected=expected)


def _signed(s: Sample, key: Any, **changes: Any) -> Sample:
    doc = orjson.loads(s.body)
    doc.pop("Signature", None)
    doc["Signature"] = aws_sns.sign(doc, key, str(doc["SignatureVersion"]))
    doc.update(changes)
    return s.with_(body=orjson.dumps(doc))


def sign(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Sign the envelope as SNS does, with the kit's certificate."""
    return _signed(s, KEY)


def _tampered_message(s: Sample, url: str, credentials: Mapping[str, str],
                      now: datetime) -> Sample:
    doc = orjson.loads(s.body)
    return _signed(s, KEY, Message=str(doc["Message"]).replace("1", "2", 1))


def _other_key(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return _signed(s, OTHER_KEY)


def _foreign_cert_url(s: Sample, url: str, credentials: Mapping[str, str],
                      now: datetime) -> Sample:
    return _signed(s, KEY, SigningCertURL="https://sns.us-east-1.amazonaws.com.evil.example/c.pem")


def _plain_http_cert_url(s: Sample, url: str, credentials: Mapping[str, str],
                         now: datetime) -> Sample:
    return _signed(s, KEY, SigningCertURL=CERT_URL.replace("https://", "http://"))


def _other_topic(s: Sample, url: str, credentials: Mapping[str, str],
                 now: datetime) -> Sample:
    doc = orjson.loads(s.body)
    doc["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:other"
    return _signed(s.with_(body=orjson.dumps(doc)), KEY)


def _unsigned(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return s


KIT = ProviderKit(
    slug="aws_sns",
    credentials={"topic_arn": TOPIC},
    samples=[
        _sample("documented-successful-final", _envelope(_EVENT, "a1b2c3d4-0001"),
                {"type": STATUS, "status": "delivered",
                 "message_id": "862a8790-60c0-4430-9b2b-658bdexample",
                 "phone": "+14255550156", "provider_status": "SUCCESSFUL",
                 "error_code": None, "segments": 1,
                 "submitted_at": datetime(2023, 6, 17, 4, 11, 43, tzinfo=UTC),
                 "reported_at": datetime(2023, 6, 17, 4, 11, 43, tzinfo=UTC)}),
        _sample("successful-not-final", _envelope({**_EVENT, "isFinal": False},
                                                  "a1b2c3d4-0002"),
                {"type": STATUS, "status": "pending", "error_code": None}),
        _sample("unreachable", _envelope({**_EVENT, "eventType": "TEXT_UNREACHABLE",
                                          "messageStatus": "UNREACHABLE"},
                                         "a1b2c3d4-0003"),
                {"type": STATUS, "status": "failed", "error_code": "TEXT_UNREACHABLE",
                 "reason_class": "unreachable_powered_off"}),
    ],
    signer=sign,
    tampers={"message": _tampered_message, "other-key": _other_key,
             "foreign-cert-url": _foreign_cert_url, "http-cert-url": _plain_http_cert_url,
             "other-topic": _other_topic, "unsigned": _unsigned},
)
