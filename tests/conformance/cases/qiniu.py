"""Qiniu SMS: ``{"items":[…]}`` pushes of reports or replies; unsigned.

The first sample is the report of Qiniu's message-push page (developer.qiniu.com/sms/
5910/message-push); the others use its documented fields: a failure with Qiniu's own
error code, one with a carrier's code, and a reply.
"""

from __future__ import annotations

import orjson

from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample

JSON = "application/json"
DOCUMENTED = (b'{"items":[{"mobile":"13812345678","message_id":"34114035",'
              b'"status":"DELIVRD","delivrd_at":1558692400,"seq":"qiniuseq"}]}')
_FAILED = {"items": [
    {"mobile": "13812345678", "message_id": "34114036", "status": "FAILED",
     "error": "601", "delivrd_at": 1558692401, "seq": "order-1", "job_id": "job-9"},
    {"mobile": "13812345679", "message_id": "34114037", "status": "FAILED",
     "error": "MK:0001", "delivrd_at": 1558692402, "seq": ""}]}
_REPLY = {"items": [{"dest_code": "1069012", "mobile": "13812345678", "content": "退订",
                     "time": 1558692500}]}

KIT = ProviderKit(
    slug="qiniu",
    credentials={},
    samples=[
        Sample(name="documented-report", body=DOCUMENTED, content_type=JSON, expected=[
            {"type": STATUS, "status": "delivered", "message_id": "34114035",
             "reference": "qiniuseq", "phone": "+8613812345678", "provider_status": "DELIVRD",
             "error_code": None, "reason_class": None,
             "reported_at": "2019-05-24T10:06:40+00:00"}]),
        Sample(name="failures", body=orjson.dumps(_FAILED), content_type=JSON, expected=[
            # 601 is "黑名单" in Qiniu's own table.
            {"type": STATUS, "status": "failed", "message_id": "34114036",
             "reference": "order-1", "error_code": "601", "provider_status": "601",
             "reason_class": "blacklisted", "reported_at": "2019-05-24T10:06:41+00:00"},
            # a carrier's code, passed through: China Mobile's unassigned number.
            {"type": STATUS, "status": "failed", "message_id": "34114037",
             "reference": None, "error_code": "MK:0001", "reason_class": "invalid_number"}]),
        Sample(name="reply", body=orjson.dumps(_REPLY), content_type=JSON, expected=[
            {"type": INBOUND, "status": "received", "phone": "+8613812345678",
             "text": "退订", "reference": "1069012",
             "reported_at": "2019-05-24T10:08:20+00:00"}]),
    ],
)
