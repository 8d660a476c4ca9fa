"""The shared baseline every placement pays for: database, cache, Temporal, NAT gateway and bucket."""

from __future__ import annotations

import math

from docpipe.config import Traffic
from docpipe.cost.load import RoleLoad, activities_per_file, days_per_month, hours_per_month
from docpipe.cost.model import Charge, Component, num
from docpipe.cost.pricebook import PriceBook
from docpipe.plan import PlacementPlan
from workers.contract import HEARTBEAT_EVERY_SECONDS, HEARTBEAT_TIMEOUT_SECONDS, HEARTBEATING_ROLES, Role

# temporalio's worker sends an activity's first heartbeat at once and then at most one per throttle
# interval: 0.8 × the activity's heartbeat timeout, capped at max_heartbeat_throttle_interval (60 s
# by default; docpipe's workers keep the defaults). Temporal Cloud bills each one sent as an action.
HEARTBEAT_THROTTLE_SHARE = 0.8
MAX_HEARTBEAT_THROTTLE_SECONDS = 60.0

TEMPORAL_BANDS: tuple[tuple[str, float], ...] = (
    # (price key, band width in actions)
    ("temporal.actionsPerMillion.first5M", 5e6),
    ("temporal.actionsPerMillion.next5M", 5e6),
    ("temporal.actionsPerMillion.next10M", 10e6),
    ("temporal.actionsPerMillion.next30M", 30e6),
    ("temporal.actionsPerMillion.next50M", 50e6),
    ("temporal.actionsPerMillion.over100M", float("inf")),
)


def database(plan: PlacementPlan, prices: PriceBook) -> Component:
    db = plan.config.database
    hours = hours_per_month(prices)
    hourly = prices.get(f"rds.hour.{db.instance_class}", f" (database.instanceClass {db.instance_class})")
    gb_month = prices.get("rds.gp3.gbMonth")
    az = 2 if db.multi_az else 1
    usd = az * (hours * hourly + db.allocated_storage_gb * gb_month)
    working = (
        f"{az} AZ × ({num(hours)} h × {num(hourly)} USD/h ({db.instance_class}) + "
        f"{db.allocated_storage_gb} GB × {num(gb_month)} USD/GB-mo)"
    )
    charges = (
        Charge(f"instance ({db.instance_class})", az * hours, "h", hourly),
        Charge("gp3 storage", az * db.allocated_storage_gb, "GB-mo", gb_month),
    )
    return Component("database (RDS PostgreSQL)", usd, working, "baseline", charges=charges)


def cache(plan: PlacementPlan, prices: PriceBook) -> Component:
    """Valkey, declared in every stack (the roles in the VPC use it; the plan says why others do not)."""
    c = plan.config.cache
    days = days_per_month(prices)
    hours = hours_per_month(prices)
    if c.mode == "node":
        hourly = prices.get(f"elasticache.node.hour.{c.node_type}", f" (cache.nodeType {c.node_type})")
        working = f"{num(hours)} h × {num(hourly)} USD/h ({c.node_type})"
        return Component(
            "cache (Valkey node)",
            hours * hourly,
            working,
            "baseline",
            notes=_cache_users(plan),
            charges=(Charge(f"node ({c.node_type})", hours, "h", hourly),),
        )
    gb = prices.get("elasticache.serverless.minimumGb")
    gb_hour = prices.get("elasticache.serverless.gbHour")
    ecpu_per_file = prices.get("assume.cacheEcpuPerFile")
    ecpu_rate = prices.get("elasticache.serverless.ecpuPerMillion")
    files = plan.config.traffic.files_per_day * days
    ecpu = files * ecpu_per_file
    usd = gb * hours * gb_hour + ecpu / 1e6 * ecpu_rate
    working = (
        f"{num(gb)} GB minimum × {num(hours)} h × {num(gb_hour)} USD/GB-h + "
        f"{num(files)} files × {num(ecpu_per_file)} ECPU × {num(ecpu_rate)} USD/1M"
    )
    charges = (
        Charge("data stored (minimum)", gb * hours, "GB-h", gb_hour),
        Charge("processing units", ecpu / 1e6, "1M ECPU", ecpu_rate),
    )
    return Component(
        "cache (Valkey serverless)", usd, working, "baseline", notes=_cache_users(plan), charges=charges
    )


def _cache_users(plan: PlacementPlan) -> tuple[str, ...]:
    users = [p.role for p in plan if p.uses_cache]
    return (
        f"used by {', '.join(users)}" if users else "in every stack; no role reaches it in this placement",
    )


def temporal_actions_usd(actions: float, prices: PriceBook) -> tuple[float, str]:
    """Tiered action charge for `actions` billable actions beyond the plan's included ones."""
    remaining = actions
    total = 0.0
    parts: list[str] = []
    for key, width in TEMPORAL_BANDS:
        if remaining <= 0:
            break
        take = min(remaining, width)
        rate = prices.get(key)
        total += take / 1e6 * rate
        parts.append(f"{num(take)} × {num(rate)} USD/1M")
        remaining -= take
    return total, " + ".join(parts) or "0"


def heartbeat_interval_seconds() -> float:
    """Seconds between recorded heartbeats of an activity that heartbeats every few seconds."""
    throttle = min(HEARTBEAT_THROTTLE_SHARE * HEARTBEAT_TIMEOUT_SECONDS, MAX_HEARTBEAT_THROTTLE_SECONDS)
    return max(throttle, HEARTBEAT_EVERY_SECONDS)


def heartbeats_per_file(traffic: Traffic) -> float:
    """Recorded heartbeats per document: 1 + ⌊d ÷ interval⌋ for each heartbeating activity of d s."""
    interval = heartbeat_interval_seconds()
    total = 0.0
    for role in HEARTBEATING_ROLES:
        seconds = traffic.minutes(role) * 60
        share = traffic.enrichment_rate if role == "enrichment" else 1.0
        total += share * (1 + math.floor(seconds / interval) if seconds > 0 else 0)
    return total


def temporal(plan: PlacementPlan, loads: dict[Role, RoleLoad], prices: PriceBook) -> Component:
    cfg = plan.config
    mode = cfg.temporal.mode
    days = days_per_month(prices)
    hours = hours_per_month(prices)
    if mode == "external":
        working = "an existing Temporal at temporal.address: not priced here"
        return Component("temporal (external)", 0.0, working, "baseline")
    if mode == "self-hosted":
        itype = cfg.temporal.self_hosted_instance_type
        hourly = prices.get(f"ec2.hour.{itype}", f" (temporal.selfHostedInstanceType {itype})")
        gb_month = prices.get("ebs.gp3.gbMonth")
        usd = hours * hourly + 20 * gb_month
        return Component(
            "temporal (self-hosted server)",
            usd,
            f"{num(hours)} h × {num(hourly)} USD/h ({itype}) + 20 GB × {num(gb_month)} USD/GB-mo "
            "(persistence shares the RDS instance)",
            "baseline",
            charges=(
                Charge(f"server ({itype})", hours, "h", hourly),
                Charge("gp3 volume", 20, "GB-mo", gb_month),
            ),
        )
    traffic = cfg.traffic
    files = traffic.files_per_day * days
    per_file_activities = activities_per_file(traffic)
    activity_minutes = sum(traffic.minutes(r) for r in ("extraction", "analysis", "storage")) + (
        traffic.minutes("enrichment") * traffic.enrichment_rate
    )
    heartbeats = heartbeats_per_file(traffic)
    per_file = 1 + per_file_activities + heartbeats
    actions = files * per_file
    included = prices.get("temporal.essentials.includedActions")
    billable = max(0.0, actions - included)
    action_usd, action_working = temporal_actions_usd(billable, prices)
    kb = prices.get("assume.temporalHistoryKbPerFile")
    gb_per_file = kb / 1e6
    active_gb_h = files * gb_per_file * (activity_minutes / 60)
    retained_gb_h = files * gb_per_file * cfg.temporal.retention_days * 24
    storage_usd = active_gb_h * prices.get("temporal.storage.activeGbHour") + retained_gb_h * prices.get(
        "temporal.storage.retainedGbHour"
    )
    usage = action_usd + storage_usd
    minimum = prices.get("temporal.essentials.minimumUsd")
    share = prices.get("temporal.essentials.usageShare")
    plan_fee = max(minimum, share * usage)
    hb = (
        f" + {num(heartbeats)} heartbeats [1 + ⌊activity s ÷ {num(heartbeat_interval_seconds())} s⌋ "
        f"each for {', '.join(HEARTBEATING_ROLES)}]"
        if heartbeats
        else ""
    )
    working = (
        f"{num(files)} files × (1 start + {num(per_file_activities)} activities{hb}) = "
        f"{num(actions)} actions, "
        f"{num(included)} included → billable {action_working}; storage {num(active_gb_h)} active + "
        f"{num(retained_gb_h)} retained GB-h = {num(storage_usd)}; plan max({num(minimum)}, "
        f"{num(share)} × usage) = {num(plan_fee)}"
    )
    return Component("temporal (Cloud, Essentials)", usage + plan_fee, working, "baseline")


def nat(plan: PlacementPlan, loads: dict[Role, RoleLoad], prices: PriceBook) -> Component | None:
    """One NAT gateway when a VPC-attached Lambda needs the internet (EC2 workers use public IPs)."""
    roles = [p.role for p in plan if p.needs_nat]
    if not roles:
        return None
    joined = [p.role for p in plan if p.needs_nat and p.joined_vpc_for_cache]
    brought = [r for r in roles if r not in joined]
    hours = hours_per_month(prices)
    hourly = prices.get("nat.hour")
    per_gb = prices.get("nat.gb")
    mb = prices.get("assume.natMbPerFile")
    ip_hourly = prices.get("vpc.publicIpv4.hour")
    tasks = sum(loads[r].tasks for r in roles if r in loads)
    gb = tasks * mb / 1024
    usd = hours * (hourly + ip_hourly) + gb * per_gb
    working = (
        f"{num(hours)} h × ({num(hourly)} USD/h + {num(ip_hourly)} USD/h its Elastic IP) + "
        f"{num(round(tasks))} tasks × {num(mb)} MB = {num(gb)} GB × {num(per_gb)} USD/GB"
    )
    return Component(
        "NAT gateway",
        usd,
        working,
        "baseline",
        charges=(
            Charge("gateway", hours, "h", hourly),
            Charge("Elastic IP (public IPv4)", hours, "h", ip_hourly),
            Charge("data processed", gb, "GB", per_gb),
        ),
        notes=(
            f"needed by {', '.join(brought)}: VPC-attached Lambda that must reach the internet",
            *([f"also carries {', '.join(joined)} (joined the VPC for the cache)"] if joined else []),
        ),
    )


def bucket(plan: PlacementPlan, prices: PriceBook) -> Component:
    days = days_per_month(prices)
    files = plan.config.traffic.files_per_day * days
    mb = prices.get("assume.documentMb")
    gb = files * mb / 1024
    gb_month = prices.get("s3.gbMonth")
    put = prices.get("s3.putPerThousand")
    get = prices.get("s3.getPerThousand")
    # An upload plus two intermediate results written; each read back about twice.
    puts, gets = files * 3, files * 6
    usd = gb * gb_month + puts / 1000 * put + gets / 1000 * get
    working = (
        f"{num(gb)} GB (a month of documents) × {num(gb_month)} USD/GB-mo + {num(puts)} PUT × "
        f"{num(put)} USD/1k + {num(gets)} GET × {num(get)} USD/1k"
    )
    charges = (
        Charge("storage", gb, "GB-mo", gb_month),
        Charge("PUT requests", puts / 1000, "1k req", put),
        Charge("GET requests", gets / 1000, "1k req", get),
    )
    return Component("document bucket (S3)", usd, working, "baseline", charges=charges)
