"""Hosted services the backends call: E2B sandboxes, the Unstructured API and model tokens.

They cost the same wherever a role runs, so they never change a placement decision, but they are
part of what a stack costs each month.
"""

from __future__ import annotations

from docpipe.cost.load import days_per_month
from docpipe.cost.model import Charge, Component, num
from docpipe.cost.pricebook import PriceBook
from docpipe.plan import PlacementPlan
from workers.contract import E2B_SANDBOX_EXPIRY_MARGIN_SECONDS, e2b_sandbox_lifetime_seconds


def e2b(plan: PlacementPlan, prices: PriceBook) -> Component | None:
    cfg = plan.config
    if cfg.backends.enrichment.kind != "e2b":
        return None
    traffic = cfg.traffic
    enriched = traffic.files_per_day * days_per_month(prices) * traffic.enrichment_rate
    share = prices.get("assume.e2bSandboxShareOfEnrichment")
    # E2B bills a sandbox from creation to kill or expiry; the code creates it with this lifetime
    # (workers/enrichment/e2b_sandbox.py), so no sandbox is billed longer.
    timeout = cfg.backends.enrichment.timeout_seconds
    lifetime = e2b_sandbox_lifetime_seconds(timeout)
    alive = traffic.minutes("enrichment") * 60 * share
    per_sandbox = min(alive, lifetime)
    seconds = enriched * per_sandbox
    vcpu = prices.get("assume.e2bSandboxVcpu")
    gib = prices.get("assume.e2bSandboxGib")
    vcpu_rate = prices.get("e2b.vcpuSecond")
    gib_rate = prices.get("e2b.gibSecond")
    plan_fee = prices.get("e2b.planMonthly")
    usd = seconds * (vcpu * vcpu_rate + gib * gib_rate) + plan_fee
    working = (
        f"{num(enriched)} enriched × min({num(alive)} s activity, {num(lifetime)} s lifetime = "
        f"{timeout} s enrichment timeoutSeconds + {E2B_SANDBOX_EXPIRY_MARGIN_SECONDS} s) = "
        f"{num(seconds)} sandbox-s × ({num(vcpu)} vCPU × {num(vcpu_rate)} + {num(gib)} GiB × "
        f"{num(gib_rate)}) USD/s + plan {num(plan_fee)}"
    )
    charges = (
        Charge("sandbox vCPU time", seconds * vcpu, "vCPU-s", vcpu_rate),
        Charge("sandbox memory time", seconds * gib, "GiB-s", gib_rate),
        Charge("plan", 1, "month", plan_fee),
    )
    return Component("E2B sandboxes", usd, working, "external", role="enrichment", charges=charges)


def unstructured(plan: PlacementPlan, prices: PriceBook) -> Component | None:
    cfg = plan.config
    if cfg.backends.extraction.kind != "unstructured-api":
        return None
    files = cfg.traffic.files_per_day * days_per_month(prices)
    pages = files * cfg.traffic.pages_per_file
    rate = prices.get("unstructured.page")
    return Component(
        "Unstructured API",
        pages * rate,
        f"{num(files)} files × {num(cfg.traffic.pages_per_file)} pages × {num(rate)} USD/page",
        "external",
        role="extraction",
        charges=(Charge("pages", pages, "page", rate),),
    )


def model_tokens(plan: PlacementPlan, prices: PriceBook) -> Component | None:
    cfg = plan.config
    analysis = cfg.backends.analysis
    if analysis.kind != "strands":
        return None
    provider = analysis.provider
    files = cfg.traffic.files_per_day * days_per_month(prices)
    tin = prices.get("assume.analysisInputTokensPerFile")
    tout = prices.get("assume.analysisOutputTokensPerFile")
    pin = prices.get(f"model.{provider}.inputPerMillionTokens")
    pout = prices.get(f"model.{provider}.outputPerMillionTokens")
    factor = 1.0
    premium = ""
    model_id = analysis.model_id or ""
    if provider == "bedrock" and not model_id.startswith("global."):
        factor += prices.get("model.bedrock.regionalPremium")
        premium = f" × {num(factor)} (regional/geographic endpoint)"
    usd = files * (tin * pin + tout * pout) / 1e6 * factor
    working = (
        f"{num(files)} files × ({num(tin)} in × {num(pin)} + {num(tout)} out × {num(pout)}) USD/1M tokens"
        f"{premium}"
    )
    charges = (
        Charge("input tokens", files * tin / 1e6, "1M tokens", pin * factor),
        Charge("output tokens", files * tout / 1e6, "1M tokens", pout * factor),
    )
    return Component(f"model tokens ({provider})", usd, working, "external", role="analysis", charges=charges)
