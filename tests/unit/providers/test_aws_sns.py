"""AWS SNS finer points: the certificate rule and cache, SignatureVersion 1, the
subscription handshake. Nothing reaches the internet: the opener serves a certificate
made in the test."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from dlrhub.providers import aws_sns
from dlrhub.providers.base import Account, AuthError, CallbackRequest
from dlrhub.services import sns_certificates
from tests.conformance.cases.aws_sns import CONFIRMATION, TOPIC

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"


def _request(doc: dict[str, object]) -> CallbackRequest:
    return CallbackRequest(body=orjson.dumps(doc), headers={}, content_type="text/plain")


KEY, PEM = aws_sns.make_certificate()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Serve the test certificate at URL through a counting opener; return the calls."""
    calls: list[str] = []

    def opener(url: str) -> bytes:
        calls.append(url)
        return PEM

    store = aws_sns.CertificateStore(opener)
    monkeypatch.setattr(aws_sns, "CERTIFICATES", store)
    return calls


def _confirmation(version: str) -> dict[str, object]:
    doc: dict[str, object] = {**CONFIRMATION, "SigningCertURL": URL,
                              "SignatureVersion": version}
    doc["Signature"] = aws_sns.sign(doc, KEY, version)
    return doc


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_confirmation_signed_either_way_passes_and_carries_no_receipt(
        served: list[str], version: str) -> None:
    account = Account(id="a", provider="aws_sns", credentials={"topic_arn": TOPIC})
    request = _request(_confirmation(version))
    aws_sns.provider.authenticate(request, account, NOW, 300)
    assert aws_sns.provider.extract(request, account) == []


def test_the_certificate_is_fetched_once_per_url(served: list[str]) -> None:
    account = Account(id="a", provider="aws_sns")
    for _ in range(3):
        aws_sns.provider.authenticate(_request(_confirmation("2")), account, NOW, 300)
    assert served == [URL]


@pytest.mark.parametrize("cert_url", [
    "http://sns.eu-west-1.amazonaws.com/c.pem",
    "https://sns.eu-west-1.amazonaws.com.attacker.example/c.pem",
    "https://attacker.example/sns.eu-west-1.amazonaws.com/c.pem",
    "https://user@sns.eu-west-1.amazonaws.com/c.pem",
    "https://sns.eu-west-1.amazonaws.com:8443/c.pem",
    "https://169.254.169.254/latest/meta-data/",
])
def test_a_certificate_url_off_sns_is_refused_without_a_fetch(served: list[str],
                                                             cert_url: str) -> None:
    doc = {**_confirmation("2"), "SigningCertURL": cert_url}
    with pytest.raises(AuthError):
        aws_sns.provider.authenticate(_request(doc), Account(id="a", provider="aws_sns"),
                                      NOW, 300)
    assert served == []


def test_another_topic_is_refused_when_the_account_names_one(served: list[str]) -> None:
    account = Account(id="a", provider="aws_sns",
                      credentials={"topic_arn": "arn:aws:sns:eu-west-1:1:other"})
    with pytest.raises(AuthError, match="TopicArn"):
        aws_sns.provider.authenticate(_request(_confirmation("2")), account, NOW, 300)


def test_the_subscription_is_confirmed_only_on_an_sns_host() -> None:
    fetched: list[str] = []

    def opener(url: str) -> bytes:
        fetched.append(url)
        return b"<ConfirmSubscriptionResponse/>"

    answer = aws_sns.confirm_subscription(str(CONFIRMATION["SubscribeURL"]), opener)
    assert answer == b"<ConfirmSubscriptionResponse/>"
    assert fetched == [CONFIRMATION["SubscribeURL"]]
    with pytest.raises(ValueError, match="SubscribeURL"):
        aws_sns.confirm_subscription("https://attacker.example/?Action=ConfirmSubscription",
                                     opener)
    assert len(fetched) == 1


def test_the_guarded_opener_refuses_what_is_not_sns_before_any_connection() -> None:
    with pytest.raises(OSError, match="sns"):
        sns_certificates.guarded_open("https://127.0.0.1/c.pem", allow_private=False)


def test_the_simulators_certificate_is_no_sns_url_another_process_would_fetch() -> None:
    sim = aws_sns.provider.simulate(Account(id="a", provider="aws_sns"), count=1, seq=1,
                                    now=NOW)
    cert_url = orjson.loads(sim.body)["SigningCertURL"]
    assert not aws_sns.allowed_sns_url(cert_url)
    fresh = aws_sns.CertificateStore(lambda url: pytest.fail(f"fetched {url}"))
    with pytest.raises(AuthError, match="SigningCertURL"):
        fresh.key(cert_url)


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", True),
    ("https://sns.eu-central-2.amazonaws.com/SimpleNotificationService-1.pem", True),
    ("https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem", True),
    ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem", True),
    # S3 buckets named "sns" answer on these names, under Amazon's wildcard certificate:
    # whoever owns one could serve a certificate and sign any envelope
    ("https://sns.s3.amazonaws.com/SimpleNotificationService-1.pem", False),
    ("https://sns.s3-us-west-2.amazonaws.com/SimpleNotificationService-1.pem", False),
    ("https://sns.s3.us-west-2.amazonaws.com/SimpleNotificationService-1.pem", False),
    ("https://sns.example.amazonaws.com/SimpleNotificationService-1.pem", False),
    ("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", False),
])
def test_only_an_sns_region_host_may_serve_the_certificate(url: str, allowed: bool) -> None:
    assert aws_sns.allowed_sns_url(url) is allowed
