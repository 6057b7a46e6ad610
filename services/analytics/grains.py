"""Which rows of the aggregate a message counts in, and which rows a query reads.

Every change is added at sixteen grains: two time spans (the UTC hour and the UTC day
of the message's anchor time) x eight sets of dimensions (the total; the reasons: by
reason class; the carriers: country and carrier; the network: account, provider,
country, carrier; the sending: account, provider, template; each of these two with the
reason class; and everything). Every row
counts its messages by reason class in columns of its own (``reason_*``), so only the
grains that group or filter by a class keep it in their key: a reason class in the key
multiplied the rows of the grains by about three, and what a query reads (and ingest
writes) with them. A grain keeps fewer
rows the coarser it is, and a query reads the coarsest one that still has what it
groups and filters by: 30 days of a large tenant grouped by day read a few hundred day
rows, not hundreds of thousands of hour rows. The grains hold the same messages, so
they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

# The dimensions a query may group and filter by, besides time: in the order of the
# aggregate's key (models.tables.DELIVERY_STATS_KEY, after tenant, grain and bucket).
DIMENSIONS = ("account_id", "provider", "country", "carrier", "template", "reason_class")
# What a grain holds in a dimension it rolls up ("" is an unknown value).
ROLLED_UP = "*"


@dataclass(frozen=True)
class DimensionSet:
    """The dimensions a grain keeps, and its name."""

    name: str
    kept: frozenset[str]


# From the coarsest up: a query takes the first that keeps every dimension it needs.
DIMENSION_SETS = (
    DimensionSet("total", frozenset()),
    # Why messages failed, over everything.
    DimensionSet("reasons", frozenset({"reason_class"})),
    # Where messages went, over every account: a row per carrier and hour, where the
    # network grain has one per account and provider too (a month by carrier and hour
    # read 31,367 network rows into 7,200 groups; migration 0029).
    DimensionSet("carriers", frozenset({"country", "carrier"})),
    # Where messages went: by account and provider, country and carrier.
    DimensionSet("network", frozenset({"account_id", "provider", "country", "carrier"})),
    # What was sent: by account and provider, and template.
    DimensionSet("sending", frozenset({"account_id", "provider", "template"})),
    # Why messages failed where they went, and why messages of a template failed: about
    # a tenth of the rows of "all", which these questions read before (migration 0019).
    # (A name has at most 11 characters: the grain column holds 16, "hour:" and the name.)
    DimensionSet("netreasons",
                 frozenset({"account_id", "provider", "country", "carrier", "reason_class"})),
    DimensionSet("sendreasons",
                 frozenset({"account_id", "provider", "template", "reason_class"})),
    DimensionSet("all", frozenset(DIMENSIONS)),
)
SPANS = ("hour", "day")


def grain_name(span: str, dimensions: DimensionSet) -> str:
    """Return the value of the ``grain`` column of ``span`` x ``dimensions``."""
    return f"{span}:{dimensions.name}"


def project(values: dict[str, str], dimensions: DimensionSet) -> tuple[str, ...]:
    """Return a message's dimension values as ``dimensions`` keeps them, in DIMENSIONS order."""
    return tuple(values[d] if d in dimensions.kept else ROLLED_UP for d in DIMENSIONS)


def dimensions_for(needed: set[str]) -> DimensionSet:
    """Return the coarsest dimension set that keeps every dimension in ``needed``."""
    for candidate in DIMENSION_SETS:
        if needed <= candidate.kept:
            return candidate
    raise ValueError(f"no grain keeps {sorted(needed)}")
