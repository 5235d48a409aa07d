"""``mm-robot bench`` results as Markdown and a latency histogram (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def _row(name: str, s: dict, unit: str = "ms") -> str:
    if not s or not s.get("n"):
        return f"| {name} | – | – | – | – | 0 |"
    cells = " | ".join(f"{s[k]} {unit}" for k in ("p50", "p90", "p99", "max"))
    return f"| {name} | {cells} | {s['n']} |"


def _compute_section(c: dict) -> list[str]:
    b = c["bounds"]
    peak = b["matmul_peak_gflops"]
    lines = [
        "## Compute (one core)",
        "",
        f"Bounds measured in this run: fp32 matmul peak {peak['best']} GFLOP/s (best of "
        + ", ".join(f"{k} {v}" for k, v in peak.items() if k != "best")
        + f"), memory-copy bandwidth {b['copy_bandwidth_gbs']} GB/s. Model: {b['model_mflops']} MFLOP "
        f"per frame, so the compute bound is {b['compute_bound_ms']} ms.",
        "",
        "| serving form | model p50 | model / bound | select_action p50 (p99) | select_action / bound "
        "| best block: model, select_action | resize p50 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for form, t in c["serving"].items():
        lines.append(
            f"| {form} | {t['model_ms']['p50']} ms | {t['model_ratio']}x | "
            f"{t['select_action_ms']['p50']} ({t['select_action_ms']['p99']}) ms | "
            f"{t['select_action_ratio']}x | {t['model_ms']['best_block_p50']} ms "
            f"({t['model_ratio_best_block']}x), {t['select_action_ms']['best_block_p50']} ms "
            f"({t['select_action_ratio_best_block']}x) | {t['resize_ms']['p50']} ms |"
        )
    lines += [
        "",
        "Fusion loop capacity (image message -> frame -> policy -> decision and grounding JSON, one core):",
        "",
        "| policy | frames/s (mean) | frames/s (best block) | per frame p50 / p99 |",
        "|---|---:|---:|---:|",
    ]
    for name, cap in c["loop_capacity"].items():
        lines.append(
            f"| {name} | {cap['frames_per_s']} | {cap['frames_per_s_best_block']} | "
            f"{cap['per_frame_ms']['p50']} / {cap['per_frame_ms']['p99']} ms |"
        )
    w = c["warm_start"]
    lines += [
        "",
        f"Warm start ({w['serving']}): policy built and warmed in {w['construct_s']} s; new command -> "
        f"first decision {w['first_command_ms']} ms for the first command after start-up, "
        f"p50 {w['new_command_ms']['p50']} / p99 {w['new_command_ms']['p99']} / max "
        f"{w['new_command_ms']['max']} ms over {w['new_command_ms']['n']} new commands "
        "(policy compute only).",
        "",
    ]
    return lines


def _graph_section(graph: dict) -> list[str]:
    lines = [
        "## Live graph over DDS (fusion_node + safety_controller_node, camera 320x240 at 30 Hz)",
        "",
        "| policy | path | p50 | p90 | p99 | max | n |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for policy, r in graph.items():
        for path in ("image_to_decision", "image_to_cmd_vel", "proposal_to_cmd_vel", "image_to_grounding"):
            lines.append(_row(f"{policy} | {path.replace('_to_', ' -> ')}", r["latency_ms"].get(path, {})))
    lines += [
        "",
        "| policy | swaps | first command after start -> grounding | later new commands p50 / p99 "
        "| stop -> zero p50 / max | e-stop -> zero p50 / max | camera silent -> zero p50 / max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for policy, r in graph.items():
        cmd, s = r["command_to_grounding_ms"], r["safety_ms"]
        later = cmd["later"]

        def pair(x: dict) -> str:
            return f"{x['p50']} / {x['max']} ms" if x.get("n") else "–"

        lines.append(
            f"| {policy} | {r['swaps']} | {cmd['first_after_start']} ms | "
            f"{later.get('p50', '–')} / {later.get('p99', '–')} ms | {pair(s['stop'])} | "
            f"{pair(s['estop'])} | {pair(s['camera_silent'])} |"
        )
    lines += ["", "| policy | node | CPU share (1 = one core) | RSS (max) |", "|---|---|---:|---:|"]
    for policy, r in graph.items():
        for node, use in r["resources"].items():
            lines.append(
                f"| {policy} | {node} | {use['cpu_share']} | {use['rss_mb']} MB ({use['rss_max_mb']} MB) |"
            )
    return lines + [""]


def _dds_section(rows: list[dict]) -> list[str]:
    lines = [
        "## DDS delivery between two processes (best effort, depth 1)",
        "",
        "| size | transport | sent | received | delivered | received/s | age p50 / p99 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['width']}x{r['height']} at {r['rate_hz']:g} Hz | {r['transport']} | {r['sent']} | "
            f"{r['received']} | {r['delivered']:.0%} | {r['received_hz']} | "
            f"{r['age_ms_p50']} / {r['age_ms_p99']} ms |"
        )
    return lines + [""]


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# mm-robot bench",
        "",
        f"{m['cpu']}, {m['cores']} cores, load average {m['load_before']} before and {m['load_after']} after "
        f"the run (other work on the machine shows in the tails; each figure is paired with bounds "
        f"measured in the same run). Started {result['started']}, {result['seconds']:.0f} s.",
        "",
    ]
    if "compute" in result:
        lines += _compute_section(result["compute"])
    if "graph" in result:
        lines += _graph_section(result["graph"])
    if "dds" in result:
        lines += _dds_section(result["dds"])
    return "\n".join(lines)


def histogram(graph: dict, path: Path) -> None:
    """Latency histograms of image -> decision and image -> cmd_vel, one colour per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, path_name in zip(axes, ("image_to_decision", "image_to_cmd_vel", "proposal_to_cmd_vel")):
        for policy, r in graph.items():
            values = [v * 1e3 for v in r["raw_s"].get(path_name, [])]
            if values:
                ax.hist(values, bins=30, alpha=0.6, label=f"{policy} (n={len(values)})")
        ax.set(title=path_name.replace("_to_", " -> "), xlabel="ms", ylabel="swaps")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
