"""Kannel: GET on the dlr-url template, the SMSC's receipt text in ``raw``; unsigned.

The queries are what Kannel makes of the template dlrhub gives (``type=%d&id=%I&fid=%F
&to=%P&from=%p&ts=%T&smsc=%i&raw=%A``, escapes per the Kannel user guide) for receipts
in the SMPP 3.4 Appendix B form; a reply is the sms-service get-url's.
"""

from __future__ import annotations

from urllib.parse import urlencode

from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample


def _get(name: str, fields: dict[str, str], *expected: dict[str, object]) -> Sample:
    return Sample(name=name, method="GET", query=urlencode(fields), expected=expected)


def _receipt(smsc_id: str, stat: str, err: str = "000") -> str:
    return (f"id:{smsc_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
            f"submit date:2401021530 done date:2401021531 stat:{stat} err:{err} text:Hello")


_DLR = {"id": "msg-1001", "fid": "0A1B2C3D", "to": "+4917612345678", "from": "INFO",
        "ts": "1704209460", "smsc": "smsc1"}
_EVENT = {"type": STATUS, "message_id": "msg-1001", "reference": "0A1B2C3D",
          "phone": "+4917612345678", "submitted_at": "2024-01-02T15:30:00+00:00",
          "reported_at": "2024-01-02T15:31:00+00:00"}

KIT = ProviderKit(
    slug="kannel",
    credentials={},
    samples=[
        _get("delivered", {"type": "1", **_DLR, "raw": _receipt("0A1B2C3D", "DELIVRD")},
             {**_EVENT, "status": "delivered", "provider_status": "DELIVRD",
              "error_code": None, "reason_class": None}),
        _get("undelivered-absent-subscriber",
             {"type": "2", **_DLR, "raw": _receipt("0A1B2C3D", "UNDELIV", "027")},
             {**_EVENT, "status": "failed", "provider_status": "UNDELIV",
              "error_code": "MAP:27", "reason_class": "unreachable_powered_off"}),
        _get("expired", {"type": "2", **_DLR, "raw": _receipt("0A1B2C3D", "EXPIRED")},
             {**_EVENT, "status": "expired", "provider_status": "EXPIRED",
              "error_code": "EXPIRED", "reason_class": "expired"}),
        _get("cmpp-code-in-stat",
             {"type": "2", **_DLR, "to": "+8613800138000",
              "raw": _receipt("0A1B2C3D", "MK:0001")},
             {**_EVENT, "phone": "+8613800138000", "status": "failed",
              "provider_status": "MK:0001", "error_code": "MK:0001"}),
        _get("on-the-smsc", {"type": "8", **_DLR},
             {"type": STATUS, "status": "pending", "message_id": "msg-1001",
              "provider_status": "8", "error_code": None, "submitted_at": None,
              "reported_at": "2024-01-02T15:31:00+00:00"}),
        _get("intermediate", {"type": "32", **_DLR, "raw": _receipt("0A1B2C3D", "ENROUTE")},
             {**_EVENT, "status": "pending", "provider_status": "ENROUTE",
              "error_code": None}),
        _get("rejected-by-the-smsc", {"type": "16", **_DLR},
             {"type": STATUS, "status": "rejected", "message_id": "msg-1001",
              "provider_status": "16", "error_code": None}),
        _get("64-bit-id", {"type": "1", **_DLR, "id": "9223372036854775807",
                           "raw": _receipt("18446744073709551615", "DELIVRD")},
             {**_EVENT, "status": "delivered", "message_id": "9223372036854775807"}),
        _get("reply", {"from": "+4915112345678", "to": "12345", "text": "Yes: 2 seats",
                       "ts": "1704209460", "smsc": "smsc1", "id": "mo-77"},
             {"type": INBOUND, "status": "received", "message_id": "mo-77",
              "phone": "+4915112345678", "text": "Yes: 2 seats",
              "reported_at": "2024-01-02T15:31:00+00:00"}),
    ],
)
