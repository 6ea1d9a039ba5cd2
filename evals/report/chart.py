"""The report's chart: accuracy with 95% intervals, one panel per mode, tasks along
x, one bar per precision; Qwen3-32B's published figure as a marker where it applies."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: CI machines have no display
import matplotlib.pyplot as plt  # noqa: E402



def _distinct(values) -> list:  # in the order they first come: the matrix config's
    return list(dict.fromkeys(values))


def accuracy_chart(report: dict, path: Path) -> Path:
    cases = list(report["cases"].values())
    modes = _distinct(c["mode"] for c in cases)
    precisions = _distinct(c["precision"] for c in cases)
    width = 0.8 / max(1, len(precisions))
    fig, axes = plt.subplots(1, len(modes), figsize=(3.2 * len(modes) + 1, 3.8), sharey=True, squeeze=False)
    for ax, mode in zip(axes[0], modes):
        in_mode = {(c["precision"], c["task"]): c for c in cases if c["mode"] == mode}
        tasks = _distinct(c["task"] for c in cases if c["mode"] == mode)
        for i, precision in enumerate(precisions):
            xs, means, errors = [], [], [[], []]
            for x, task in enumerate(tasks):
                case = in_mode.get((precision, task))
                if case is None:
                    continue
                xs.append(x - 0.4 + width * (i + 0.5))
                means.append(case["mean"])
                low, high = case["ci95"] or (case["mean"], case["mean"])
                errors[0].append(case["mean"] - low)
                errors[1].append(high - case["mean"])
            ax.bar(xs, means, width, yerr=errors, capsize=3, label=precision.upper())
        labelled = False
        for x, task in enumerate(tasks):
            published = next((c["published"] for c in cases if c["task"] == task and c["mode"] == mode and "published" in c), None)
            if published is not None:
                ax.plot([x - 0.4, x + 0.4], [published] * 2, "k--", linewidth=1,
                        label=None if labelled else "Qwen3-32B, published")
                labelled = True
        ax.set_xticks(range(len(tasks)), [t.upper() for t in tasks])
        ax.set_title(mode)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("accuracy (95% interval)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize="small", frameon=False)
    fig.suptitle(f"{Path(report['run']).name} (profile {report['profile']})", fontsize="medium", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def drift_chart(report: dict, path: Path) -> Path:
    """Per-token KLD against the reference, one step histogram per precision, log scale."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for precision, record in report["drift"].items():
        if "histogram" not in record:
            continue  # a record from before the chart
        edges, counts = record["histogram"]["log10_edges"], record["histogram"]["counts"]
        total = max(1, sum(counts))
        ax.stairs([c / total for c in counts], [10 ** e for e in edges], label=precision.upper())
    ax.set_xscale("log")
    ax.set_xlabel("KL(reference || precision) per token, nats (the first bin holds 0)")
    ax.set_ylabel("share of tokens")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
