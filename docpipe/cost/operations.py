"""What running the stack costs besides its compute and services: logs, images, secrets, the starter.

Each line is derived from what `infra/` declares (docpipe.deployment: log retention, the starter's
memory and architecture; the image architectures the plan builds; the secrets the baseline creates),
and `not_priced` says what is still left out of an estimate, and why.
"""

from __future__ import annotations

from collections.abc import Mapping

from docpipe.cost.load import RoleLoad, days_per_month
from docpipe.cost.model import Charge, Component, RoleCost, num
from docpipe.cost.pricebook import PriceBook
from docpipe.deployment import (
    LOG_RETENTION_DAYS,
    STARTER_ARCHITECTURE,
    STARTER_MEMORY_MB,
    image_architectures,
)
from docpipe.plan import PlacementPlan
from workers.contract import Role


def _aws_roles(plan: PlacementPlan) -> list[Role]:
    return [p.role for p in plan if p.target_unit.cloud == "aws"]


def logs(
    plan: PlacementPlan, loads: Mapping[Role, RoleLoad], costs: Mapping[Role, RoleCost], prices: PriceBook
) -> Component:
    """CloudWatch Logs of the AWS-hosted roles and the starter: ingestion, and storage for the
    retention the log groups are created with (a steady state holds retention ÷ month of ingestion)."""
    roles = _aws_roles(plan)
    files = plan.config.traffic.files_per_day * days_per_month(prices)
    # A task's lines, and a Lambda invocation's START/END/REPORT lines; the starter runs once a file.
    events = sum(loads[r].tasks + costs[r].lambda_requests for r in roles) + files
    kb = prices.get("assume.logKbPerTask")
    gb = events * kb / 1e6
    ingest = prices.get("cloudwatch.logs.ingestGb")
    store = prices.get("cloudwatch.logs.storageGbMonth")
    stored = gb * LOG_RETENTION_DAYS / days_per_month(prices)
    usd = gb * ingest + stored * store
    working = (
        f"{num(round(events))} tasks, invocations and uploads × {num(kb)} KB = {num(gb)} GB × "
        f"{num(ingest)} USD/GB + {num(stored)} GB kept ({LOG_RETENTION_DAYS} d retention) × "
        f"{num(store)} USD/GB-mo"
    )
    who = ", ".join([*roles, "starter"])
    charges = (Charge("ingestion", gb, "GB", ingest), Charge("storage", stored, "GB-mo", store))
    return Component(
        "logs (CloudWatch)", usd, working, "baseline", notes=(f"log groups of {who}",), charges=charges
    )


def registries(plan: PlacementPlan, prices: PriceBook) -> Component:
    """ECR holds one worker image per architecture the plan builds; Artifact Registry the x86_64 one
    when a role runs on Cloud Run (after its free storage)."""
    archs = image_architectures(plan)
    gb_each = prices.get("assume.imageGbPerArchitecture")
    ecr_rate = prices.get("ecr.gbMonth")
    usd = len(archs) * gb_each * ecr_rate
    charges = [Charge("ECR storage", len(archs) * gb_each, "GB-mo", ecr_rate)]
    working = (
        f"ECR {len(archs)} image(s) ({', '.join(archs)}) × {num(gb_each)} GB × {num(ecr_rate)} USD/GB-mo"
    )
    if any(p.target_unit.cloud == "gcp" for p in plan):
        ar_rate = prices.get("artifactregistry.gbMonth")
        free = prices.get("artifactregistry.freeGb")
        billable = max(0.0, gb_each - free)
        usd += billable * ar_rate
        charges.append(Charge("Artifact Registry storage", billable, "GB-mo", ar_rate))
        working += (
            f" + Artifact Registry max(0, {num(gb_each)} GB − {num(free)} GB free) × {num(ar_rate)} USD/GB-mo"
        )
    return Component(
        "image registries (ECR, Artifact Registry)", usd, working, "baseline", charges=tuple(charges)
    )


def secret_names(plan: PlacementPlan) -> list[str]:
    """The Secrets Manager secrets the baseline creates: the backends' API keys, the Temporal API key
    (Temporal Cloud's key for the workers, or the external server's), Valkey's credentials and the
    RDS-managed master password."""
    config = plan.config
    names: list[str] = [n for n in config.required_secrets() if n != "temporalApiKey"]
    if config.temporal.mode in ("cloud", "external"):
        names.append("temporalApiKey")
    return [*names, "valkeyAuth", "rdsMasterPassword"]


def secrets(plan: PlacementPlan, prices: PriceBook) -> Component:
    names = secret_names(plan)
    rate = prices.get("secretsmanager.secretMonth")
    working = f"{len(names)} secrets ({', '.join(names)}) × {num(rate)} USD/secret-mo"
    charges = (Charge("secrets", len(names), "secret-mo", rate),)
    return Component("secrets (Secrets Manager)", len(names) * rate, working, "baseline", charges=charges)


def starter(plan: PlacementPlan, prices: PriceBook) -> Component:
    """The Lambda each upload invokes to start the document's workflow."""
    files = plan.config.traffic.files_per_day * days_per_month(prices)
    seconds = prices.get("assume.starterSecondsPerInvocation")
    init = prices.get("assume.lambdaInitSeconds")
    gb = STARTER_MEMORY_MB / 1024
    gb_rate = prices.get(f"lambda.gbSecond.{STARTER_ARCHITECTURE}")
    req_rate = prices.get("lambda.requestsPerMillion")
    usd = files * (seconds + init) * gb * gb_rate + files * req_rate / 1e6
    working = (
        f"{num(files)} uploads × ({num(seconds)} s + {num(init)} s INIT) × {num(gb)} GB × {num(gb_rate)} "
        f"USD/GB-s ({STARTER_ARCHITECTURE}) + {num(files)} req × {num(req_rate)} USD/1M"
    )
    charges = (
        Charge("duration (incl. INIT)", files * (seconds + init) * gb, "GB-s", gb_rate),
        Charge("requests", files / 1e6, "1M req", req_rate),
    )
    return Component(
        "starter (Lambda)",
        usd,
        working,
        "baseline",
        notes=("not in the --free-tier credit",),
        charges=charges,
    )


def not_priced(plan: PlacementPlan) -> list[tuple[str, str]]:
    """What the estimate leaves out for this plan, each with why."""
    out: list[tuple[str, str]] = []
    gcp = [p.role for p in plan if p.target_unit.cloud == "gcp"]
    if gcp:
        out.append(
            (
                "data transfer out of AWS",
                f"{', '.join(gcp)} on Cloud Run read and write S3 over the internet (0.09 USD/GB after "
                "AWS's 100 GB/month free); depends on document sizes not modelled",
            )
        )
        out.append(
            (
                "Cloud Logging, Secret Manager",
                "the Cloud Run roles' logs and secrets fit Google's free allotments (50 GiB logs per "
                "project, 6 active secret versions) at these volumes",
            )
        )
    provisioned = [p.role for p in plan if getattr(p.sizing, "provisioned_concurrency", 0)]
    if provisioned:
        out.append(("Lambda provisioned concurrency", f"set for {', '.join(provisioned)}; not modelled"))
    out.append(
        (
            "Secrets Manager API calls",
            "0.05 USD per 10,000: each worker reads its secrets once at start",
        )
    )
    out.append(("CloudWatch metrics", "only AWS's free built-in metrics; the stack declares no alarms"))
    out.append(("taxes, support plans, other free tiers", "not decided by the deployment"))
    return out
