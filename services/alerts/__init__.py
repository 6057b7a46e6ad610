"""Alert rules: a tenant's thresholds on how delivery is going, told as ``sms.alert`` events.

``rules`` creates, reads, changes and deletes them; ``evaluate`` decides, as pure
functions, whether a rule fires or resolves; ``measure`` counts a rule's window in SQL;
``run`` ties them, emitting each firing and each resolution once (docs/insight.md).
"""
