"""Scenarios for ``dlrhub simulate``: what a run of simulated messages contains.

Pure and seeded (``mix``, ``phones``, ``codes``, ``plan``): the same seed gives the same
recipients, outcomes, codes, parts and times. ``expect`` registers the plan's messages as
expectations through the tenant API. docs/insight.md ("The simulator") says how.
"""
