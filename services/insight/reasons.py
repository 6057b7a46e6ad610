"""Why a message was not delivered: the reason-class dictionary and its look-up.

Providers and carriers report failures as codes (``MK:0005``, ``E200027``, ``MSBLACK``)
whose meaning depends on who sent them: ``MK:0005`` is an invalid number on China Mobile
and a powered-off handset on China Telecom. The dictionary (``data/*_codes.csv``, each
row with its source in ``data/sources.csv``) maps (provider, carrier, code) to one of the
12 classes of ``ReasonClass``; docs/insight.md says how it is built and extended. It is
read once per process.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from importlib import resources

from dlrhub.models import ReasonClass, ReceiptStatus
from dlrhub.providers.registry import PROVIDERS

# Statuses that carry a class; delivered, pending and received carry none.
CLASSIFIED = frozenset({ReceiptStatus.failed.value, ReceiptStatus.expired.value,
                        ReceiptStatus.rejected.value, ReceiptStatus.unknown.value})
ANY = "*"
# The three mainland-China carriers, and the scope of a code all three use alike.
MAINLAND_CARRIERS = frozenset({"china_mobile", "china_telecom", "china_unicom"})
MAINLAND = "cn"
# What a failure without a known code means: only `expired` says why by itself.
# `rejected` covers content, blacklists and routing alike, so it says nothing more.
STATUS_DEFAULTS: Mapping[str, ReasonClass] = {
    ReceiptStatus.expired.value: ReasonClass.expired,
    ReceiptStatus.failed.value: ReasonClass.other_unknown,
    ReceiptStatus.rejected.value: ReasonClass.other_unknown,
    ReceiptStatus.unknown.value: ReasonClass.other_unknown,
}
# reason_classes.csv says how a retry fares in words; `retryable` is true where a retry
# (now, later, or through another route) may succeed, false where it cannot, and null
# where it depends on what the class does not tell (sometimes, maybe, unknown).
RETRY_WORDS: Mapping[str, bool | None] = {
    "yes": True, "later": True, "yes-other-route": True, "no": False,
    "sometimes": None, "maybe": None, "unknown": None,
}
CODE_FILES = ("carrier_codes.csv", "standard_codes.csv", "provider_codes.csv")
_DATA = "dlrhub.services.insight"
_LOOKUP_CACHE = 8192

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """One reason class: what it means and what a sender should do, in two languages."""

    reason_class: ReasonClass
    retry: str
    retryable: bool | None
    meaning: str
    action: str
    meaning_zh: str
    action_zh: str


@dataclass(frozen=True, slots=True)
class Source:
    """Where a group of dictionary rows comes from: a public URL or a standard."""

    name: str
    reference: str
    note: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The class of one event and whether sending again may help (None: not known)."""

    reason_class: ReasonClass | None
    retryable: bool | None


NONE = Verdict(None, None)


@dataclass(frozen=True)
class Dictionary:
    """The classes, the sources and the (provider, carrier, code) → class entries."""

    classes: Mapping[ReasonClass, ClassInfo]
    sources: Mapping[str, Source]
    entries: Mapping[Key, ReasonClass]

    def lookup(self, provider: str, carrier: str | None, country: str | None,
               code: str) -> ReasonClass | None:
        """Return the class of ``code`` (normalized), most specific scope first.

        (provider, carrier) → (provider, any) → (carrier) → (the mainland carriers, for
        a mainland or unplaced number) → (any); then the same for the code's family
        (``MI:*`` for ``MI:0099``), where the source gives one.
        """
        mainland = carrier in MAINLAND_CARRIERS or (carrier is None
                                                    and country in (None, "CN"))
        for candidate in _family(code):
            for key in _scopes(provider, carrier, mainland, candidate):
                found = self.entries.get(key)
                if found is not None:
                    return found
        return None

    def verdict(self, reason_class: ReasonClass) -> Verdict:
        """Return ``reason_class`` with its retryable flag."""
        return Verdict(reason_class, self.classes[reason_class].retryable)


def normalize_code(code: str) -> str:
    """Return a code as the dictionary keys it: upper case, single inner spaces."""
    return " ".join(code.split()).upper()


def _family(code: str) -> Iterable[str]:
    yield code
    prefix, colon, _rest = code.partition(":")
    if colon and prefix:
        yield f"{prefix}:*"


def _scopes(provider: str, carrier: str | None, mainland: bool, code: str) -> Iterable[Key]:
    if carrier:
        yield provider, carrier, code
    yield provider, ANY, code
    if carrier:
        yield ANY, carrier, code
    if mainland:
        yield ANY, MAINLAND, code
    yield ANY, ANY, code


@cache
def dictionary() -> Dictionary:
    """Return the dictionary shipped with the package, read once per process."""
    folder = resources.files(_DATA).joinpath("data")
    return build(
        classes=_rows(folder.joinpath("reason_classes.csv").read_text("utf-8")),
        sources=_rows(folder.joinpath("sources.csv").read_text("utf-8")),
        codes=[row for name in CODE_FILES
               for row in _rows(folder.joinpath(name).read_text("utf-8"))],
    )


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def build(*, classes: Iterable[Mapping[str, str]], sources: Iterable[Mapping[str, str]],
          codes: Iterable[Mapping[str, str]]) -> Dictionary:
    """Check and index the rows of the data files; raise ``ValueError`` on a bad row.

    A code the three mainland carriers' rows give the same class (or only one carrier
    lists) is also entered for the mainland scope, unless the source has a row for it
    there: a receipt from a number whose carrier is unknown (masked, say) or ported
    still gets that class.
    """
    infos: dict[ReasonClass, ClassInfo] = {}
    for row in classes:
        rc = ReasonClass(row["reason_class"])
        if row["retry"] not in RETRY_WORDS:
            raise ValueError(f"reason_classes.csv: {rc}: unknown retry word {row['retry']!r}")
        infos[rc] = ClassInfo(rc, row["retry"], RETRY_WORDS[row["retry"]], row["meaning"],
                              row["action"], row["meaning_zh"], row["action_zh"])
    missing = set(ReasonClass) - set(infos)
    if missing:
        raise ValueError(f"reason_classes.csv lacks {sorted(missing)}")
    known = {row["source"]: Source(row["source"], row["reference"], row["note"])
             for row in sources}
    entries: dict[Key, ReasonClass] = {}
    by_code: dict[str, set[ReasonClass]] = {}
    for row in codes:
        provider, carrier, code = row["provider"], row["carrier"], normalize_code(row["code"])
        key = (provider, carrier, code)
        where = f"{provider}/{carrier}/{code}"
        if provider != ANY and provider not in PROVIDERS:
            raise ValueError(f"{where}: unknown provider")
        if row["source"] not in known:
            raise ValueError(f"{where}: unknown source {row['source']!r}")
        if key in entries:
            raise ValueError(f"{where}: listed twice")
        entries[key] = ReasonClass(row["reason_class"])
        if provider == ANY and carrier in MAINLAND_CARRIERS:
            by_code.setdefault(code, set()).add(entries[key])
    for code, found in by_code.items():
        if len(found) == 1 and (ANY, MAINLAND, code) not in entries:
            entries[(ANY, MAINLAND, code)] = next(iter(found))
    return Dictionary(infos, known, entries)


def classify(provider: str, status: str, code: str | None, *, carrier: str | None = None,
             country: str | None = None, overrides: Mapping[str, str] | None = None,
             provider_retryable: Callable[[], bool | None] | None = None) -> Verdict:
    """Return the reason class of a status report and whether a retry may help.

    Delivered, pending and inbound events get none. A failure's ``code`` is looked up
    in the account's ``overrides`` (keys normalized as ``normalize_code``), then in the
    dictionary; a code found nowhere falls back to the status's default. Where no
    override applies, ``provider_retryable`` (asked only then) may give the provider's
    own word on retrying, which beats the class's general answer (Infobip's
    ``permanent``).
    """
    if status not in CLASSIFIED:
        return NONE
    normalized = normalize_code(code) if code else ""
    if overrides and normalized in overrides:
        return dictionary().verdict(ReasonClass(overrides[normalized]))
    verdict = _lookup(provider, status, normalized, carrier, country)
    said = provider_retryable() if provider_retryable is not None else None
    return verdict if said is None else replace(verdict, retryable=said)


@lru_cache(maxsize=_LOOKUP_CACHE)
def _lookup(provider: str, status: str, code: str, carrier: str | None,
            country: str | None) -> Verdict:
    book = dictionary()
    found = book.lookup(provider, carrier, country, code) if code else None
    return book.verdict(found or STATUS_DEFAULTS[status])


def check_overrides(given: Mapping[str, object]) -> dict[str, str]:
    """Return an account's overrides with normalized codes, or raise ``ValueError``.

    The error message names the offending code and the classes allowed.
    """
    out: dict[str, str] = {}
    for code, value in given.items():
        normalized = normalize_code(code) if isinstance(code, str) else ""
        if not normalized or len(normalized) > 100:
            raise ValueError(f"{code!r}: a code must be 1 to 100 characters")
        if not isinstance(value, str) or value not in ReasonClass.__members__:
            choices = ", ".join(ReasonClass)
            raise ValueError(f"{code!r}: {value!r} is not a reason class (one of {choices})")
        out[normalized] = ReasonClass(value).value
    return out


def describe_classes() -> list[ClassInfo]:
    """Return the 12 classes in their documented order, with meaning and advice."""
    book = dictionary()
    return [book.classes[rc] for rc in ReasonClass]
