"""Evaluation results as a summary dict, a Markdown report and a bar chart by task type."""

from __future__ import annotations

from pathlib import Path


def summarise(results: list[dict], policies: list[str], mode: str) -> dict:
    summary: dict = {"mode": mode, "policies": {}}
    for policy in policies:
        mine = sorted((r for r in results if r["policy"] == policy), key=lambda r: r["scenario"])
        categories: dict[str, list[bool]] = {}
        for r in mine:
            categories.setdefault(r["category"], []).append(bool(r["success"]))
        summary["policies"][policy] = {
            "scenarios": len(mine),
            "success_rate": sum(r["success"] for r in mine) / max(1, len(mine)),
            "by_category": {k: sum(v) / len(v) for k, v in sorted(categories.items())},
            "collisions": sum(int(r.get("collisions", 0)) for r in mine),
            "timed_out": sum(bool(r.get("timed_out")) for r in mine),
            "decisions": _total_decisions(mine),
            "results": mine,
        }
    return summary


def _total_decisions(results: list[dict]) -> dict[str, int]:
    """Decisions by action over all runs (each result.json's ``decisions``)."""
    total: dict[str, int] = {}
    for r in results:
        for action, count in (r.get("decisions") or {}).items():
            total[action] = total.get(action, 0) + int(count)
    return dict(sorted(total.items()))


def markdown(summary: dict) -> str:
    policies = list(summary["policies"])
    categories = sorted({c for p in summary["policies"].values() for c in p["by_category"]})
    lines = [f"# Closed-loop evaluation ({summary['mode']} mode; the oracle always lockstep)", "",
             "| task type | " + " | ".join(policies) + " |", "|---|" + "---|" * len(policies)]
    for category in categories:
        cells = []
        for policy in policies:
            stats = summary["policies"][policy]
            n = sum(1 for r in stats["results"] if r["category"] == category)
            rate = stats["by_category"].get(category)
            cells.append("–" if rate is None else f"{rate:.0%} (n={n})")
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(
        f"**{summary['policies'][p]['success_rate']:.0%}** (n={summary['policies'][p]['scenarios']})"
        for p in policies) + " |")
    lines.append("| collisions | " + " | ".join(str(summary["policies"][p]["collisions"]) for p in policies) + " |")
    lines.append("| stopped at the wall-clock limit | " + " | ".join(
        str(summary["policies"][p].get("timed_out", 0)) for p in policies) + " |")
    lines += ["", "Failures:", ""]
    for policy in policies:
        for r in summary["policies"][policy]["results"]:
            if not r["success"]:
                lines.append(f"- {policy} / {r['scenario']}: {'; '.join(r.get('reasons', []))}")
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    policies = list(summary["policies"])
    categories = sorted({c for p in summary["policies"].values() for c in p["by_category"]})
    x = np.arange(len(categories))
    width = 0.8 / max(1, len(policies))
    fig, ax = plt.subplots(figsize=(1.4 * len(categories) + 2, 3.5))
    for i, policy in enumerate(policies):
        rates = [100 * summary["policies"][policy]["by_category"].get(c, 0.0) for c in categories]
        ax.bar(x + i * width, rates, width, label=f"{policy} ({summary['policies'][policy]['success_rate']:.0%})")
    ax.set_xticks(x + width * (len(policies) - 1) / 2, categories)
    ax.set(ylabel="success (%)", ylim=(0, 105), title="closed-loop success by task type")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
