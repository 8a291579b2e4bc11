"""Prometheus instruments of the service (one registry per worker process)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("handoff_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "handoff_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SCORES = Counter(
    "handoff_scores_total",
    "Leads scored, by route and tier (no_handoff: below the threshold; excluded: an exclusion)",
    ["route", "tier"],
)
FAST_SCORE = Counter(
    "handoff_fast_score_total",
    "POST /v1/score requests answered below FastAPI (answered) or handed to the route (declined:"
    " errors, other content types, dependency overrides)",
    ["outcome"],
)
