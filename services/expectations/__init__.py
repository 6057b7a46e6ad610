"""Expected messages: what a tenant sent, met by final receipts, or reported missing.

``rules`` holds the pure decisions (deadlines, matching, the events dlrhub emits);
``register`` stores and lists expectations; ``matching`` is ingest's one call per
batch; ``sweep`` reports the overdue ones; ``summary`` counts them for a tenant.
"""
