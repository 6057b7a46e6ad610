"""An AWS SNS SubscriptionConfirmation through the real endpoint: dlrhub visits its
SubscribeURL before answering, and asks SNS to send it again when it cannot.

The opener stands in for the network (tests never reach the internet): it serves a
certificate made here and records the confirmation GET.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import falcon.testing
import orjson
import pytest

from dlrhub.config import Settings
from dlrhub.models import ProviderAccount, utcnow
from dlrhub.providers import aws_sns
from dlrhub.providers.base import SubscriptionChange
from dlrhub.services import sns_certificates, subscriptions
from dlrhub.services.runtime import Runtime
from tests.conformance.cases.aws_sns import CONFIRMATION, TOPIC
from tests.factories import AccountFactory
from tests.functional.test_accounts_api import make_api

CERT_URL = "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-conf.pem"
KEY, PEM = aws_sns.make_certificate()
SUBSCRIPTION_ARN = f"{TOPIC}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"


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
        return (b'<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                b"<ConfirmSubscriptionResult><SubscriptionArn>" + SUBSCRIPTION_ARN.encode()
                + b"</SubscriptionArn></ConfirmSubscriptionResult>"
                b"<ResponseMetadata><RequestId>075ecce8-8dac-11e1-bf80-f781d96e9307"
                b"</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>")


@pytest.fixture
def network(client: falcon.testing.TestClient) -> Iterator[Network]:
    net = Network()
    sns_certificates.install_opener(net.open)
    yield net
    sns_certificates.install(allow_private=False)


def _confirmation(kind: str = "SubscriptionConfirmation") -> bytes:
    doc: dict[str, object] = {**CONFIRMATION, "Type": kind, "SigningCertURL": CERT_URL,
                              "SignatureVersion": "2"}
    doc["Signature"] = aws_sns.sign(doc, KEY)
    return orjson.dumps(doc)


def _post(client: falcon.testing.TestClient, token: str, body: bytes,
          kind: str = "SubscriptionConfirmation") -> falcon.testing.Result:
    return client.simulate_post(f"/v1/callbacks/aws_sns/{token}", body=body,
                                headers={"Content-Type": "text/plain; charset=UTF-8",
                                         "x-amz-sns-message-type": kind})


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


def test_the_account_shows_each_topics_subscription_as_sns_changes_it(
        settings: Settings, runtime: Runtime, network: Network) -> None:
    api = make_api(settings, runtime)
    sns_certificates.install_opener(network.open)  # the new app installed the real one
    account = api.create("aws_sns", credentials={"topic_arn": TOPIC})
    token = account["callback_url"].rsplit("/", 1)[1]
    assert account["subscriptions"] == []
    # a confirmation SNS could not be told of shows nothing: SNS will ask again
    network.confirms = False
    assert _post(api.client, token, _confirmation()).status_code == 503
    assert api.call("GET", f"/v1/accounts/{account['id']}").json["subscriptions"] == []
    network.confirms = True
    assert _post(api.client, token, _confirmation()).status_code == 200
    [confirmed] = api.call("GET", f"/v1/accounts/{account['id']}").json["subscriptions"]
    assert (confirmed["topic"], confirmed["status"], confirmed["subscription_id"]) == (
        TOPIC, "confirmed", SUBSCRIPTION_ARN)
    assert confirmed["confirmed_at"] is not None
    assert confirmed["unsubscribed_at"] is None
    # SNS says the topic no longer sends here: shown, and nothing is visited
    asked = len(network.asked)
    unsubscribed = _confirmation("UnsubscribeConfirmation")
    assert _post(api.client, token, unsubscribed, "UnsubscribeConfirmation").status_code == 200
    assert network.asked[asked:] == []
    [ended] = api.call("GET", f"/v1/accounts/{account['id']}").json["subscriptions"]
    assert (ended["topic"], ended["status"], ended["subscription_id"]) == (
        TOPIC, "unsubscribed", SUBSCRIPTION_ARN)
    assert ended["confirmed_at"] == confirmed["confirmed_at"]
    assert ended["unsubscribed_at"] is not None
    # the confirmation URL's token is a secret of the subscription: never answered
    assert "2336412f37" not in "".join(api.answers)


@pytest.mark.dialects
def test_at_most_twenty_topics_are_kept_the_most_recently_changed(runtime: Runtime) -> None:
    account = AccountFactory(provider="aws_sns").account
    start = utcnow()

    def change(n: int, minute: int) -> None:
        # Through the database: PostgreSQL's JSONB keeps no key order, only the times
        # say which changed last.
        subscriptions.record(runtime.engine, account.id, SubscriptionChange(
            f"arn:aws:sns:us-east-1:1:t{n}", "confirmed"), start + timedelta(minutes=minute))

    def shown() -> list[str]:
        with runtime.sessions() as session:
            stored = session.get(ProviderAccount, account.id)
            assert stored is not None
            session.refresh(stored)
            return [s.topic.rsplit(":", 1)[1] for s in subscriptions.public(stored.subscriptions)]

    for n in range(25):
        change(n, n)
    assert len(shown()) == subscriptions.MAX_TOPICS
    assert shown()[:2] == ["t24", "t23"]
    assert "t4" not in shown()
    # a topic confirmed again moves to the front
    change(10, 30)
    assert shown()[:2] == ["t10", "t24"]
