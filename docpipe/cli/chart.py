"""The chart of `docpipe cost compare --chart FILE.png` (matplotlib, Agg backend, imported here only)."""

from __future__ import annotations

from pathlib import Path

from docpipe import install_hint
from docpipe.cost.compare import RECOMMENDED, Sweep

STYLE = {
    "all-ec2": {"color": "#d95f02", "linestyle": "-"},
    "all-lambda": {"color": "#7570b3", "linestyle": "-"},
    "all-cloudrun": {"color": "#1b9e77", "linestyle": "-"},
    "original-hybrid": {"color": "#e7298a", "linestyle": "--"},
    RECOMMENDED: {"color": "#222222", "linestyle": ":", "linewidth": 2.5},
}
NOT_ALLOWED = {"all-cloudrun": "storage needs a public-TLS database"}


def write_chart(sweep: Sweep, path: str | Path, title: str = "") -> Path:
    """Monthly cost against files per day (log x) for every model, crossovers marked."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            f"the chart needs matplotlib: {install_hint('cost')} (or `python3 tasks.py setup`)"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    for name, ys in sweep.usd.items():
        style = STYLE.get(name, {})
        label = name + (f" ({NOT_ALLOWED[name]})" if name in NOT_ALLOWED else "")
        ax.plot(sweep.files_per_day, ys, label=label, **style)  # type: ignore[arg-type]
    lines: list[str] = []
    for i, (a, b, x, y) in enumerate(sweep.crossovers, start=1):
        ax.plot([x], [y], marker="o", color="black", markersize=5)
        ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(-4, 7), fontsize=8, weight="bold")
        lines.append(f"{i}: {a} = {b} at {x:,.0f} files/day ({y:,.0f} USD)")
    if lines:
        ax.text(
            0.45,
            0.97,
            "crossovers\n" + "\n".join(lines),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=7.5,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85},
        )
    ax.set_xscale("log")
    ax.set_xlabel("files per day (log scale)")
    ax.set_ylabel("USD per month (incl. baseline)")
    ax.set_title(title or "docpipe: monthly cost by placement model")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out
