"""Every provider sample as an HTTP callback: body, content type, headers, expectation."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

import orjson

from dlrhub.providers import netease, nxcloud, telnyx
from tests.fixtures import sample, seed

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

NETEASE_CREDS = {"app_key": "demoAppKey", "app_secret": "demoAppSecret"}
NXCLOUD_CREDS = {"access_key": "fme2na3kdi3ki", "access_secret": "demoSecret123"}
# Telnyx signs with a private key only it holds: the samples are signed with RFC 8032's
# published test seed, whose public key the account holds.
TELNYX_CREDS = {"public_key": telnyx.SIMULATOR_PUBLIC_KEY}


@dataclass(frozen=True)
class Case:
    """One sample callback and the number of receipts it must become."""

    id: str
    provider: str
    body: bytes
    content_type: str
    records: int
    credentials: Mapping[str, str] = field(default_factory=dict)
    signer: Callable[[bytes, datetime], dict[str, str]] | None = None

    def headers(self, now: datetime) -> dict[str, str]:
        """Return the request headers, signed for ``now`` where the provider signs."""
        out = {"Content-Type": self.content_type} if self.content_type else {}
        if self.signer is not None:
            out.update(self.signer(self.body, now))
        return out


def _fenced(document: str, lang: str, index: int = 0) -> bytes:
    return document.split(f"```{lang}")[index + 1].split("```")[0].strip().encode()


def _http_body(document: str, index: int) -> bytes:
    # seed 003 shows raw requests: headers, a blank line, then the body
    block = document.split("```http")[index + 1].split("```")[0].strip()
    return block.split("\n\n", 1)[1].strip().encode()


def _between(document: str, start: str, end: str) -> bytes:
    # seed 001 is a rendered page: the sample sits in plain text between two headings
    return document.split(start, 1)[1].split(end, 1)[0].strip().encode()


def _comment_value(text: bytes, key: str) -> bytes:
    for line in text.decode().splitlines():
        if line.startswith(f"# {key}="):
            return line[len(f"# {key}="):].encode()
    raise KeyError(key)


def _body_after_comments(text: bytes) -> bytes:
    lines = [ln for ln in text.decode().splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[0].encode()


def _netease_signer(body: bytes, now: datetime) -> dict[str, str]:
    cur = str(int(now.timestamp() * 1000))
    md5 = hashlib.md5(body).hexdigest()
    return {"AppKey": NETEASE_CREDS["app_key"], "CurTime": cur, "MD5": md5,
            "CheckSum": netease.checksum(NETEASE_CREDS["app_secret"], md5, cur)}


def _telnyx_signer(body: bytes, now: datetime) -> dict[str, str]:
    ts = str(int(now.timestamp()))
    return {"telnyx-timestamp": ts,
            "telnyx-signature-ed25519": telnyx.sign(telnyx.SIMULATOR_SEED, ts, body)}


def _nxcloud_signer(action: str) -> Callable[[bytes, datetime], dict[str, str]]:
    def signer(body: bytes, now: datetime) -> dict[str, str]:
        ts = str(int(now.timestamp() * 1000))
        return {"accessKey": NXCLOUD_CREDS["access_key"], "ts": ts, "bizType": "4",
                "action": action,
                "sign": nxcloud.sign(NXCLOUD_CREDS["access_key"], action, "4", ts, body,
                                     NXCLOUD_CREDS["access_secret"])}
    return signer


def _nxcloud_form(*, inbound: bool = False) -> bytes:
    # The unsigned sample is written as "key:value," pairs; send it as the real form.
    line = _body_after_comments(sample("nxcloud_did_form_unsigned.txt")).decode()
    fields = dict(item.split(":", 1) for item in line.split(","))
    if inbound:  # type 0 is an uplink: the same fields, from the end user to the DID
        fields.update(type="0", fromPhone=fields["toPhone"], toPhone=fields["fromPhone"])
        fields.pop("smsStatus")
    return urlencode(fields).encode()


def _cloopen_reply_xml() -> bytes:
    # The XML sample is a status report; the reply is the same document with smsType 0,
    # the reply text in content, and the extension codes (docs/providers/cloopen.md).
    return (sample("cloopen_dlr_xml.txt").strip()
            .replace(b"<smsType>1</smsType>", b"<smsType>0</smsType>")
            .replace(b"<content>smsMessageSid</content>",
                     b"<content>\xe5\xa5\xbd\xe7\x9a\x84 TD</content><subAppend>77</subAppend>"))


def _cloopen_reply_json() -> bytes:
    return orjson.dumps({"Request": {
        "action": "SMSArrived", "smsType": "0", "apiVersion": "2013-12-26",
        "content": "好的 TD", "fromNum": "13912345678", "recvTime": "20130923010101",
        "appendCode": "12345", "subAppend": "77"}})


def _netease_reply() -> bytes:
    # netease_mo.json with real values where the sample has "..." placeholders.
    return (sample("netease_mo.json").strip()
            .replace(b'"mobile":"..."', b'"mobile":"13800138000"')
            .replace(b'"receiveTime":"..."', b'"receiveTime":"2024-01-02 03:04:05"'))


def cases() -> list[Case]:
    """Return every seed and sample callback of every provider."""
    seed003 = seed("003_3d417b0934fd974c.txt")
    nx_body = _comment_value(sample("nxcloud_did_signed_dr.txt"), "body")
    seed004 = _fenced(seed("004_836e64b1e21370f6.txt"), "").split(b"--data-raw '")[1]\
        .rsplit(b"'", 1)[0]
    huawei_auth = sample("huawei_dlr_with_auth.txt").decode().split("\n\n", 1)[1].strip()
    return [
        Case("tencent-seed-000", "tencent", _fenced(seed("000_3e68b1973ff21b1c.txt"), "json"),
             JSON, 1),
        Case("tencent-seed-001", "tencent", _between(seed("001_105049233a113fb9.txt"),
                                                     "Sample request:", "Response Parameters"),
             JSON, 1),
        Case("tencent-seed-003", "tencent", _http_body(seed003, 5), JSON, 1),
        Case("tencent-dlr-v2", "tencent", sample("tencent_dlr_v2.json"), JSON, 1),
        Case("tencent-dlr-ext", "tencent", sample("tencent_dlr_v3_with_ext.json"), JSON, 1),
        Case("tencent-mo", "tencent", sample("tencent_mo_reply.json"), JSON, 1),
        Case("tencent-mo-legacy", "tencent", sample("tencent_mo_legacy_intl.json"), JSON, 1),
        Case("ucloud-seed-002", "ucloud", _fenced(seed("002_feb392e455a20f69.txt"), "json"),
             JSON, 2),
        Case("ucloud-dlr", "ucloud", sample("ucloud_dlr.json"), JSON, 2),
        Case("ucloud-mo", "ucloud", sample("ucloud_mo.json"), JSON, 2),
        Case("aliyun-seed-003", "aliyun", _http_body(seed003, 0), JSON, 1),
        Case("aliyun-report", "aliyun", sample("aliyun_smsreport.json"), JSON, 1),
        Case("aliyun-up", "aliyun", sample("aliyun_smsup.json"), JSON, 1),
        Case("aliyun-intl", "aliyun", sample("aliyun_intl_smsreport.json"), JSON, 1),
        Case("cloopen-seed-003", "cloopen", _http_body(seed003, 2), "", 1),
        Case("cloopen-json", "cloopen", sample("cloopen_dlr_json.json"), JSON, 1),
        Case("cloopen-xml", "cloopen", sample("cloopen_dlr_xml.txt").strip(),
             "application/xml", 1),
        Case("cloopen-mo-json", "cloopen", _cloopen_reply_json(), JSON, 1),
        Case("cloopen-mo-xml", "cloopen", _cloopen_reply_xml(), "application/xml", 1),
        Case("huawei-seed-003", "huawei", _http_body(seed003, 3), "", 1),
        Case("huawei-success", "huawei", sample("huawei_dlr_success.txt").strip(), FORM, 1),
        Case("huawei-failed", "huawei", sample("huawei_dlr_failed.txt").strip(), FORM, 1),
        Case("huawei-with-auth-body", "huawei", huawei_auth.encode(), FORM, 1),
        Case("huawei-mo", "huawei", _body_after_comments(sample("huawei_mo.txt")), FORM, 1),
        Case("netease-seed-003", "netease", _http_body(seed003, 4), JSON, 2,
             NETEASE_CREDS, _netease_signer),
        Case("netease-dlr", "netease", sample("netease_dlr.json").strip(), JSON, 2,
             NETEASE_CREDS, _netease_signer),
        Case("netease-mo", "netease", _netease_reply(), JSON, 1, NETEASE_CREDS,
             _netease_signer),
        Case("nxcloud-seed-004", "nxcloud", seed004, JSON, 1, NXCLOUD_CREDS,
             _nxcloud_signer("dr")),
        Case("nxcloud-signed-dr", "nxcloud", nx_body, JSON, 1, NXCLOUD_CREDS,
             _nxcloud_signer("dr")),
        Case("nxcloud-signed-mo", "nxcloud", nx_body.replace(b'"type":"1"', b'"type":"0"'),
             JSON, 1, NXCLOUD_CREDS, _nxcloud_signer("mo")),
        Case("nxcloud-form-unsigned", "nxcloud", _nxcloud_form(), FORM, 1),
        Case("nxcloud-form-unsigned-mo", "nxcloud", _nxcloud_form(inbound=True), FORM, 1),
        # Twilio and Vonage sign only when the account holds their secret; Plivo signs the
        # URL it calls, which these cases do not know (tests/functional/
        # test_signed_wave2_callbacks.py posts signed samples of all of them).
        Case("twilio-status-failed", "twilio",
             _body_after_comments(sample("twilio_status_failed.txt")), FORM, 1),
        Case("telnyx-finalized", "telnyx", sample("telnyx_message_finalized.json").strip(),
             JSON, 1, TELNYX_CREDS, _telnyx_signer),
        Case("vonage-dlr", "vonage", sample("vonage_dlr.json").strip(), JSON, 1),
    ]
