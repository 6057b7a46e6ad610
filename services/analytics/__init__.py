"""Delivery analytics: an aggregate kept up to date as messages change, and its queries.

``record`` adds a batch's message and expectation changes to the aggregate (ingest and
the expectation sweep call it); ``query`` answers ``GET /v1/analytics/delivery`` from it;
``grains`` says which rows each holds and reads; ``buckets`` is the latency histograms.
"""

from dlrhub.services.analytics.query import DeliveryReport, delivery
from dlrhub.services.analytics.record import (
    ExpectationFacts,
    MessageFacts,
    record_expectations,
    record_messages,
)

__all__ = ["DeliveryReport", "ExpectationFacts", "MessageFacts", "delivery",
           "record_expectations", "record_messages"]
