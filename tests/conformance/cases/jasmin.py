"""Jasmin: DLRs (levels 1 and 3) and SMS-MO, by POST or GET; answered ``ACK/Jasmin``.

Field names and example values follow Jasmin's HTTP API documentation ("Receiving DLR",
"Receiving SMS-MO"); the message ids are its UUID examples.
"""

from __future__ import annotations

from urllib.parse import urlencode

from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample

FORM = "application/x-www-form-urlencoded"
ID = "16fd2706-8baf-433b-82eb-8c7fada847da"


def _post(name: str, fields: dict[str, str], *expected: dict[str, object]) -> Sample:
    return Sample(name=name, body=urlencode(fields).encode(), content_type=FORM,
                  expected=expected)


def _get(name: str, fields: dict[str, str], *expected: dict[str, object]) -> Sample:
    return Sample(name=name, method="GET", query=urlencode(fields), expected=expected)


_LEVEL3 = {"id": ID, "id_smsc": "2567", "level": "3", "connector": "demo_cid",
           "subdate": "1311022338", "donedate": "1311022339", "sub": "1", "text": "Hello foo bar"}
_EVENT = {"type": STATUS, "message_id": ID, "reference": "2567", "phone": None,
          "submitted_at": "2013-11-02T23:38:00+00:00",
          "reported_at": "2013-11-02T23:39:00+00:00"}
_MO = {"id": ID, "from": "+21620203060", "to": "20203060", "origin-connector": "23",
       "priority": "1", "coding": "0", "content": "Hello world !",
       "binary": "48656C6C6F20776F726C642021"}
_REPLY = {"type": INBOUND, "status": "received", "message_id": ID,
          "phone": "+21620203060", "text": "Hello world !"}

KIT = ProviderKit(
    slug="jasmin",
    credentials={},
    samples=[
        _post("level-3-delivered", {**_LEVEL3, "message_status": "DELIVRD", "dlvrd": "1",
                                    "err": "0"},
              {**_EVENT, "status": "delivered", "provider_status": "DELIVRD",
               "error_code": None, "reason_class": None}),
        _post("level-3-undelivered", {**_LEVEL3, "message_status": "UNDELIV", "dlvrd": "0",
                                      "err": "27"},
              {**_EVENT, "status": "failed", "provider_status": "UNDELIV",
               "error_code": "MAP:27", "reason_class": "unreachable_powered_off"}),
        _get("level-3-by-get", {**_LEVEL3, "message_status": "DELIVRD", "dlvrd": "1",
                                "err": "0"},
             {**_EVENT, "status": "delivered", "provider_status": "DELIVRD"}),
        _post("level-1-accepted", {"id": ID, "message_status": "ESME_ROK", "level": "1",
                                   "connector": "demo_cid"},
              {"type": STATUS, "status": "pending", "message_id": ID, "reference": None,
               "provider_status": "ESME_ROK", "error_code": None, "reported_at": None}),
        _post("level-1-refused", {"id": ID, "message_status": "ESME_RINVNUMDESTS",
                                  "level": "1", "connector": "demo_cid"},
              {"type": STATUS, "status": "rejected", "message_id": ID,
               "provider_status": "ESME_RINVNUMDESTS", "error_code": "ESME_RINVNUMDESTS",
               "reason_class": "gateway_or_protocol_error"}),
        _post("level-1-throttled", {"id": ID, "message_status": "ESME_RTHROTTLED",
                                    "level": "1", "connector": "demo_cid"},
              {"type": STATUS, "status": "rejected", "error_code": "ESME_RTHROTTLED",
               "reason_class": "rate_limited"}),
        _post("sms-mo", _MO, _REPLY),
        _get("sms-mo-by-get", _MO, _REPLY),
    ],
    success_body=b"ACK/Jasmin",
)
