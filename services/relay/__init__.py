"""The relay: POST stored receipts to customers' webhook endpoints, at least once.

Read it by role, each module calling only the ones below it:

- ``outbox``: writes deliveries (for new receipts, for a replay) and finds due and
  overdue ones; the database is the record of work to do.
- ``lease``: claims due deliveries for one send and records what the sends got.
- ``policy``: pure decisions, no database: when to retry (``retries``), the circuit
  breaker (``circuit``), the rate limit (``rate_limit``), which deliveries of an
  endpoint go now (``pacing``) and what an answer means (``outcomes``).
- ``transport``: the wire: signatures (``signing``), which addresses may be called
  (``addresses``, and ``resolver`` at connect time) and the HTTP client (``http``).
- ``jobs``: a delivery ready to send and what its endpoint answered.
- ``run``: one relay pass tying them together (claim, send, record, wake what follows).

Only ``run``, ``transport.http`` and ``transport.resolver`` load the HTTP client
library; the API imports none of them.
"""
