"""What a profile's run costs per precision before it starts: requests, expected output
tokens, the batch the KV cache allows, output tokens/s and GPU-hours
(`python -m evals estimate --profile full`).

Expected output tokens per response come from each case's committed baseline (its
measured mean) or else the config's `planning` assumption; each case's output tokens/s
from evals/planning/throughput.py: what the newest whole run of the profile measured for
its precision, else the KV-bound model; GPU-hours are the case's tokens over its rate,
times the GPUs per server. Drift adds prefill only: its bound in tokens is shown apart,
as prefill runs far faster than decoding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evals.config.matrix import Case, Matrix
from evals.planning.designs import DesignCost, compare
from evals.planning.power import items, output_tokens
from evals.planning.throughput import Rate, Rates


@dataclass(frozen=True)
class CaseCost:
    case: Case
    requests: int
    output_tokens: float
    source: str  # of its expected lengths: "baseline" or "planning"
    rate: Rate
    gpu_hours: float


@dataclass(frozen=True)
class Estimate:
    precision: str
    cases: list[CaseCost]
    gpu_hours: float  # per run
    baseline_gpu_hours: float  # per accepted baseline (--snapshot-update draws baseline_repeats)
    drift_prefill_tokens: int  # at most: response tokens of the drift sequences (prompts not counted)

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.cases)

    @property
    def output_tokens(self) -> float:
        return sum(c.output_tokens for c in self.cases)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted({c.source for c in self.cases}))


def estimate(matrix: Matrix, cases: list[Case], snapshots: Path, artifacts: Path | None = None,
             rates: Rates | None = None) -> list[Estimate]:
    """Per precision of `cases` (a profile's, or a narrowed selection's: their limits and k
    count); `rates` shares what one Rates has read between estimates."""
    drift = matrix.drift(cases[0].profile) if cases else None
    gpus = matrix.planning.gpus
    rates = rates or Rates(matrix.planning, artifacts)
    out = []
    for precision in dict.fromkeys(c.precision for c in cases):
        costs, baseline = [], 0.0
        mine = [c for c in cases if c.precision == precision]
        requests = sum(items(c) * c.repeats for c in mine)  # one generation pass sends them all
        for case in mine:
            mean, source = output_tokens(matrix, case, snapshots)
            mean = min(mean, case.generation.get("max_gen_toks", mean))
            rate = rates.of(case, mean, requests)
            tokens = items(case) * case.repeats * mean
            costs.append(CaseCost(case, items(case) * case.repeats, tokens, source, rate, rate.gpu_hours(tokens, gpus)))
            baseline += rate.gpu_hours(items(case) * case.baseline_repeats * mean, gpus)
        sequences = sum(min(drift.items, items(c.case)) for c in costs) if drift and not costs[0].case.limit else 0
        out.append(Estimate(precision, costs, sum(c.gpu_hours for c in costs), baseline,
                            sequences * (drift.max_tokens if drift else 0)))
    return out


def render(matrix: Matrix, profile: str, rows: list[Estimate]) -> list[str]:
    planning = matrix.planning
    lines = [f"Estimated cost of one run of profile {profile!r} ({planning.gpus} GPUs per server, {planning.gpu.name}):", "",
             "| precision | cases | requests | output tokens (M) | lengths from | tokens/s | hours per run "
             "| GPU-hours per run | GPU-hours per baseline | drift prefill tokens (at most) |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        overall = row.output_tokens / (row.gpu_hours / planning.gpus * 3600) if row.gpu_hours else 0.0
        lines.append(f"| {row.precision} | {len(row.cases)} | {row.requests:,} | {row.output_tokens / 1e6:.2f} | "
                     f"{'+'.join(row.sources)} | {overall:,.0f} | {row.gpu_hours / planning.gpus:.1f} | {row.gpu_hours:.1f} | "
                     f"{row.baseline_gpu_hours:.1f} | {row.drift_prefill_tokens:,} |")
    total = sum(r.gpu_hours for r in rows)
    lines += ["", f"All precisions, one after another: {total / planning.gpus:.1f} hours, {total:.1f} GPU-hours per run; "
              f"{sum(r.baseline_gpu_hours for r in rows):.1f} GPU-hours for their baselines.", "",
              "Per case: the batch the KV cache allows (the generation pass keeps the expected output tokens of the "
              "requests out within it) and the output tokens/s it gives:", "",
              "| case | mean output tokens | KV cache tokens | sequences in flight | tokens/s | from | GPU-hours per run |",
              "|---|---:|---:|---:|---:|---|---:|"]
    for row in rows:
        for cost in row.cases:
            rate = cost.rate
            cache = "—" if rate.kv_cache_tokens is None else f"{rate.kv_cache_tokens:,}"
            flight = "—" if rate.in_flight is None else f"{rate.in_flight:.1f}"
            lines.append(f"| {cost.case.id} | {cost.output_tokens / cost.requests:,.0f} | {cache} | {flight} | "
                         f"{rate.tokens_per_s:,.0f} | {rate.source} | {cost.gpu_hours:.2f} |")
    lines += ["", "Sources (evals/config/matrix.yaml, planning): " + " ".join(planning.source.split())]
    return lines


def render_designs(compared: dict[str, dict[str, DesignCost]]) -> list[str]:
    """The uniform and the planned design side by side (evals/planning/designs.py)."""
    lines = ["Two designs (evals/planning/designs.py): uniform k, judged once; planned: samples per item where they inform, "
             "drawn in looks that stop what is settled. A planned run's GPU-hours are expected for a run under no change; "
             "'at most' draws every look.", "",
             "| precision | design | GPU-hours per run | at most | GPU-hours per baseline | vs uniform (run, baseline) "
             "| drop detected with power 0.9 (points) |", "|---|---|---:|---:|---:|---|---|"]
    for precision, designs_of in compared.items():
        uniform = designs_of["uniform"]
        for name, cost in designs_of.items():
            detects = ", ".join(f"{pool} {'-' if d is None else f'{d * 100:.1f}'}"
                                for pool, d in cost.detects.items())
            lines.append(f"| {precision} | {name} | {cost.gpu_hours_per_run:.1f} | {cost.gpu_hours_per_run_at_most:.1f} | "
                         f"{cost.gpu_hours_per_baseline:.1f} | {cost.gpu_hours_per_run / uniform.gpu_hours_per_run:.2f}x, "
                         f"{cost.gpu_hours_per_baseline / uniform.gpu_hours_per_baseline:.2f}x | {detects} |")
    total = {name: sum(d[name].gpu_hours_per_run for d in compared.values()) for name in ("uniform", "planned")}
    base = {name: sum(d[name].gpu_hours_per_baseline for d in compared.values()) for name in ("uniform", "planned")}
    lines += ["", f"All precisions: {total['uniform']:.1f} GPU-hours per run uniform, {total['planned']:.1f} planned "
              f"({total['planned'] / total['uniform']:.2f}x); baselines {base['uniform']:.1f} and {base['planned']:.1f} "
              f"({base['planned'] / base['uniform']:.2f}x)."]
    return lines


def add_arguments(parser) -> None:
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"),
                        help="where runs are: the newest whole run of the profile that measured a precision's output "
                             "tokens/s gives its rate (default: %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="per precision, GPU-hours per run and per baseline of the uniform and the planned design, as JSON")


def command(args) -> int:
    from evals.config.paths import snapshots_dir

    matrix, snapshots = args.matrix, snapshots_dir()
    cases = matrix.cases(args.profile)
    precisions = list(dict.fromkeys(c.precision for c in cases))
    compared = {p: compare(matrix, args.profile, p, snapshots, args.artifacts) for p in precisions}
    if args.json:
        print(json.dumps({p: {name: cost.as_data() for name, cost in d.items()} for p, d in compared.items()}, indent=2))
        return 0
    print("\n".join(render(matrix, args.profile, estimate(matrix, cases, snapshots, args.artifacts))))
    print("\n" + "\n".join(render_designs(compared)))
    return 0
