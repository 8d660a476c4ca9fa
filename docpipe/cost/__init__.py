"""docpipe's cost model: price book, estimates, recommender, simulator and the compare sweep.

The public API, for the CLI and the policy pack (import-light: no matplotlib, no Pulumi; the chart
of `docpipe cost compare --chart` is drawn by docpipe/cli/chart.py):

    from docpipe.cost import estimate
    est = estimate(plan_or_config)            # Estimate
    est.total_monthly_usd, est.components      # each Component: name, role, usd, working
    est.top_drivers(3)                         # most expensive line items
    est.burst("extraction").usd_per_hour       # worst case: max instances / concurrency for an hour

A month is 730 h (`assume.hoursPerMonth`). What is still not priced is listed on every estimate
(`est.not_priced`: data transfer out of AWS for Cloud Run roles, Google's free allotments, Secrets
Manager API calls, metrics, taxes; see `docpipe.cost.operations.not_priced`). The closed form uses
the month's mean arrival rate; `docpipe simulate` plays the diurnal and bursty profiles, bills no
more than each placement's capacity and reports the backlog. `docpipe.cost.checks.warnings_of`
asks every warning rule of one placement.
"""

from __future__ import annotations

from docpipe.cost.estimate import estimate, price_book_for
from docpipe.cost.model import Burst, Component, Estimate
from docpipe.cost.pricebook import Price, PriceBook, PriceBookError, load_price_book

__all__ = [
    "Burst",
    "Component",
    "Estimate",
    "Price",
    "PriceBook",
    "PriceBookError",
    "estimate",
    "load_price_book",
    "price_book_for",
]
