"""An AWS SNS SubscriptionConfirmation through the real endpoint: dlrhub visits its
SubscribeURL before answering, and asks SNS to send it again when it cannot.

The opener stands in for the network (tests never reach the internet): it serves a
certificate made here and records the confirmation GET.
"""

from __future__ import annotations

from collections.abc import Iterator

import falcon.testing
import orjson
import pytest

from dlrhub.providers import aws_sns
from dlrhub.services import sns_certificates
from tests.conformance.cases.aws_sns import CONFIRMATION, TOPIC
from tests.factories import AccountFactory

CERT_URL = "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-conf.pem"
KEY, PEM = aws_sns.make_certificate()


class Network:
    """What the opener was asked for; whether SNS answers the confirmation."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.confirms = True

    def open(self, url: str) -> bytes:
        self.asked.append(url)
        if url == CERT_URL:
            return PEM
        if not self.confirms:
            raise OSError("connection refused")
        return b"<ConfirmSubscriptionResponse><SubscriptionArn>arn</SubscriptionArn>"


@pytest.fixture
def network(client: falcon.testing.TestClient) -> Iterator[Network]:
    net = Network()
    sns_certificates.install_opener(net.open)
    yield net
    sns_certificates.install(allow_private=False)


def _confirmation() -> bytes:
    doc: dict[str, object] = {**CONFIRMATION, "SigningCertURL": CERT_URL,
                              "SignatureVersion": "2"}
    doc["Signature"] = aws_sns.sign(doc, KEY)
    return orjson.dumps(doc)


def _post(client: falcon.testing.TestClient, token: str, body: bytes) -> falcon.testing.Result:
    return client.simulate_post(f"/v1/callbacks/aws_sns/{token}", body=body,
                                headers={"Content-Type": "text/plain; charset=UTF-8",
                                         "x-amz-sns-message-type": "SubscriptionConfirmation"})


def test_a_confirmation_is_confirmed_before_it_is_answered(
        client: falcon.testing.TestClient, network: Network) -> None:
    account = AccountFactory(provider="aws_sns", credentials={"topic_arn": TOPIC})
    result = _post(client, account.token, _confirmation())
    assert result.status_code == 200
    assert network.asked[-1] == CONFIRMATION["SubscribeURL"]
    assert network.asked.count(CONFIRMATION["SubscribeURL"]) == 1


def test_a_confirmation_that_cannot_be_confirmed_is_answered_503_to_come_again(
        client: falcon.testing.TestClient, network: Network) -> None:
    network.confirms = False
    account = AccountFactory(provider="aws_sns")
    result = _post(client, account.token, _confirmation())
    assert result.status_code == 503
    assert result.json["reason"] == "the subscription could not be confirmed, retry"
    assert str(CONFIRMATION["Token"]) not in result.text


def test_a_forged_confirmation_makes_dlrhub_call_nothing(
        client: falcon.testing.TestClient, network: Network) -> None:
    account = AccountFactory(provider="aws_sns")
    doc = orjson.loads(_confirmation())
    doc["SubscribeURL"] = "https://attacker.example/?Action=ConfirmSubscription"
    result = _post(client, account.token, orjson.dumps(doc))
    assert result.status_code == 401
    assert set(network.asked) <= {CERT_URL}  # at most the (cached) certificate
