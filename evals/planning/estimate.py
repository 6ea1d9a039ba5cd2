"""What a profile's run costs per precision before it starts: requests, expected output
tokens, GPU-hours (`python -m evals estimate --profile full`).

Expected output tokens per response come from each case's committed baseline (its
measured mean) or else the config's `planning` assumption; GPU-hours divide them by
the precision's output tokens per second in `planning.throughput` (documented there
with its source), times the GPUs per server. Drift adds prefill only: its bound in
tokens is shown apart, as prefill runs far faster than decoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evals.config.matrix import Matrix
from evals.planning.power import items, output_tokens


@dataclass(frozen=True)
class Estimate:
    precision: str
    cases: int
    requests: int  # per run: items x repeats, summed over the precision's cases
    output_tokens: float  # expected, per run
    sources: tuple[str, ...]  # where the expected lengths come from ("baseline", "planning")
    gpu_hours: float  # per run
    baseline_gpu_hours: float  # per accepted baseline (--snapshot-update draws baseline_repeats)
    drift_prefill_tokens: int  # at most: response tokens of the drift sequences (prompts not counted)


def estimate(matrix: Matrix, profile: str, snapshots: Path) -> list[Estimate]:
    cases = matrix.cases(profile)
    drift = matrix.drift(profile)
    out = []
    for precision in dict.fromkeys(c.precision for c in cases):
        mine = [c for c in cases if c.precision == precision]
        lengths = {c.id: output_tokens(matrix, c, snapshots) for c in mine}
        run = sum(items(c) * c.repeats * lengths[c.id][0] for c in mine)
        baseline = sum(items(c) * c.baseline_repeats * lengths[c.id][0] for c in mine)
        sequences = sum(min(drift.items, items(c)) for c in mine) if drift else 0
        out.append(Estimate(
            precision, len(mine), sum(items(c) * c.repeats for c in mine), run,
            tuple(sorted({source for _, source in lengths.values()})), matrix.planning.gpu_hours(precision, run),
            matrix.planning.gpu_hours(precision, baseline), sequences * (drift.max_tokens if drift else 0)))
    return out


def render(matrix: Matrix, profile: str, rows: list[Estimate]) -> list[str]:
    planning = matrix.planning
    lines = [f"Estimated cost of one run of profile {profile!r} ({planning.gpus} GPUs per server):", "",
             "| precision | cases | requests | output tokens (M) | lengths from | tokens/s | hours per run "
             "| GPU-hours per run | GPU-hours per baseline | drift prefill tokens (at most) |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row.precision} | {row.cases} | {row.requests:,} | {row.output_tokens / 1e6:.2f} | "
                     f"{'+'.join(row.sources)} | {planning.throughput[row.precision]:g} | {row.gpu_hours / planning.gpus:.1f} | {row.gpu_hours:.1f} | "
                     f"{row.baseline_gpu_hours:.1f} | {row.drift_prefill_tokens:,} |")
    total = sum(r.gpu_hours for r in rows)
    lines += ["", f"All precisions, one after another: {total / planning.gpus:.1f} hours, {total:.1f} GPU-hours per run.",
              "Sources (evals/config/matrix.yaml, planning): " + " ".join(planning.source.split())]
    return lines


def add_arguments(parser) -> None:
    pass


def command(args) -> int:
    from evals.config.paths import snapshots_dir

    print("\n".join(render(args.matrix, args.profile, estimate(args.matrix, args.profile, snapshots_dir()))))
    return 0
