"""The power planner: what each gate test of a profile can detect, at what GPU cost.

    python -m evals power                      # profile full, the reference precision
    python -m evals power --profile tiny --precision fp8
    python -m evals power --recommend          # and the least-cost k for each pool's margin

Per case and per pooled test: the smallest drop (points) detected with power 0.8 and
0.9 by the test at its share of the run's alpha, for runs of k = 1..64 samples per
item against a baseline of the profile's `baseline_repeats`, and the output tokens and
GPU-hours each run costs. Item solve rates come from the profile's committed baselines
(snapshots/<profile>/<case>.json, shrunk towards their mean) where they exist, else
from the task's published accuracy through the gate's noise model (evals/gate/noise.py);
output tokens from the baselines, else from `planning` in evals/config/matrix.yaml.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals import data
from evals.artifacts.jsonio import DamagedFile
from evals.artifacts.types import Record
from evals.config.matrix import REFERENCE_PRECISION, Case, ConfigError, Matrix, pooled_cases
from evals.gate import noise, sensitivity
from evals.gate.policy import Policy
from evals.planning.throughput import Rates

RUN_KS = (1, 2, 4, 8, 16, 32, 64)
POWERS = (0.8, 0.9)
ITEM_SETS = 16  # item sets a test planned from published accuracy averages over
# The accuracy planned for a case with no published figure: a middling model.
FALLBACK_ACCURACY = 0.5


@dataclass(frozen=True)
class Planned:
    """One gate test as planned: its cases' item rates, samples and output tokens."""

    name: str
    kind: str  # "case" or "pooled" (config.TEST_KINDS)
    cases: list[Case]
    rates: np.ndarray  # (item sets, items)
    tokens: np.ndarray  # expected output tokens per response, per item: (item sets, items)
    hours: np.ndarray  # GPU-hours per response, per item (its tokens at its case's rate: evals/planning/throughput.py)
    source: str  # "baseline" or "published"
    alpha: float  # of its drop test
    margin: float

    def design(self, run_k: int | np.ndarray, baseline_k: int | np.ndarray) -> sensitivity.Design:
        return sensitivity.Design.of(self.rates, baseline_k, run_k)

    def case_k(self, attribute: str) -> np.ndarray:
        """Per item, the configured samples per item of its case (repeats or baseline_repeats)."""
        return np.concatenate([np.full(items(c), getattr(c, attribute)) for c in self.cases])

    def tokens_at(self, k: np.ndarray | int) -> float:
        """Output tokens of a run at `k` samples per item (the mean over item sets)."""
        return float(np.mean(np.sum(self.tokens * k, axis=-1)))

    def hours_at(self, k: np.ndarray | int) -> float:
        return float(np.mean(np.sum(self.hours * k, axis=-1)))


def items(case: Case) -> int:
    """The items a case runs: its limit, else its whole data set."""
    return case.limit or data.registry()[case.task.name]["records"]


def prior_accuracy(case: Case) -> float:
    """The accuracy a case is planned at before any baseline exists."""
    prior = case.task.published.get(case.mode.style)  # a prior, even where prompts differ from the published ones
    return prior if prior is not None else FALLBACK_ACCURACY


def _baseline(case: Case, snapshots: Path) -> Record | None:
    path = snapshots / case.profile / f"{case.id}.json"
    return Record.from_json(path.read_text(encoding="utf-8"), path, "baseline") if path.exists() else None


def output_tokens(matrix: Matrix, case: Case, snapshots: Path) -> tuple[float, str]:
    """Expected output tokens per response of a case, and where the figure comes from:
    its committed baseline's mean, else the config's `planning` assumption (also for a
    damaged baseline: its own test names it, and a run must not stop over a length)."""
    try:
        baseline = _baseline(case, snapshots)
    except DamagedFile:
        baseline = None
    measured = baseline.output_tokens if baseline is not None else None
    return (float(measured), "baseline") if measured else (float(matrix.planning.tokens(case)), "planning")


def _case_inputs(matrix: Matrix, case: Case, snapshots: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(item rates, output tokens per item, their source); rates and tokens as (item sets, items)."""
    record = _baseline(case, snapshots)
    mean = output_tokens(matrix, case, snapshots)[0]
    if record is not None:
        counts = record.counts
        correct = np.array([c for c, _ in counts.values()])
        k = np.array([k for _, k in counts.values()])
        return noise.shrunk_rates(correct, k)[None, :], np.full((1, len(counts)), mean), "baseline"
    seed = int(hashlib.sha256(f"{case.task.name}-{case.mode.name}".encode()).hexdigest()[:8], 16)  # modes differ
    rates = noise.item_rate_sets(prior_accuracy(case), items(case), ITEM_SETS, seed=seed)
    return rates, item_lengths(rates, mean, matrix.planning.unsolved_length), "published"


def item_lengths(rates: np.ndarray, mean: float, unsolved: float) -> np.ndarray:
    """Expected output tokens per item: linear in its solve rate, an item never solved
    `unsolved` times as long as one always solved, the item set's mean `mean`."""
    shape = 1 + (unsolved - 1) * (1 - rates)
    return mean * shape / shape.mean(axis=-1, keepdims=True)


def planned_tests(matrix: Matrix, profile: str, precision: str, snapshots: Path, artifacts: Path | None = None) -> list[Planned]:
    policy = Policy(matrix.gate, matrix.test_counts(profile))
    cases = [c for c in matrix.cases(profile) if c.precision == precision]
    if not cases:
        raise ConfigError(f"profile {profile!r} has no cases of precision {precision!r}")
    inputs = {c.id: _case_inputs(matrix, c, snapshots) for c in cases}
    rates = Rates(matrix.planning, artifacts)
    # GPU-hours per output token of each case, at its mean length
    per_token = {c.id: rates.of(c, float(inputs[c.id][1].mean())).gpu_hours(1.0, matrix.planning.gpus) for c in cases}

    def planned(name: str, chosen: list[Case], kind: str, margin: float) -> Planned:
        sets = max(inputs[c.id][0].shape[0] for c in chosen)
        stack = lambda part: np.concatenate(  # noqa: E731
            [np.broadcast_to(part(c), (sets, inputs[c.id][0].shape[1])) for c in chosen], axis=1)
        sources = {inputs[c.id][2] for c in chosen}
        return Planned(name, kind, chosen, stack(lambda c: inputs[c.id][0]), stack(lambda c: inputs[c.id][1]),
                       stack(lambda c: inputs[c.id][1] * per_token[c.id]), "+".join(sorted(sources)),
                       policy.alpha_for(kind), margin)

    tests = [planned(f"{c.task.name}-{c.mode.name}", [c], "case", policy.case_margin(c)) for c in cases]
    for (_, name), chosen in pooled_cases(matrix.pools, cases).items():
        tests.append(planned(f"pool {name}", chosen, "pooled", policy.pool_margin(matrix.pools[name])))
    return tests


def _drop(test: Planned, run_k, power: float) -> str:
    found = sensitivity.detectable_drop(test.design(run_k, test.case_k("baseline_repeats")), test.alpha, power)
    return "-" if found is None else f"{found * 100:.1f}"


def render_table(matrix: Matrix, profile: str, precision: str, tests: list[Planned]) -> list[str]:
    policy = Policy(matrix.gate, matrix.test_counts(profile))
    planning = matrix.planning
    alphas = ", ".join(f"{kind} {policy.alpha_for(kind):.2g}" for kind in ("case", "pooled"))
    lines = [
        f"Power planner: profile {profile}, precision {precision}. Run alpha {matrix.gate.alpha:g}; "
        f"per one-sided test: {alphas}.",
        f"Smallest drop (points) detected with power {POWERS[0]:g} / {POWERS[1]:g}, by samples per item in a run (k), "
        "against a baseline of the profile's baseline_repeats (base k); last column: at the profile's run k. '-': none.",
        f"Noise model: item rates from committed baselines, else {ITEM_SETS} item sets drawn from a Beta (concentration "
        f"{noise.CONCENTRATION:g}) around the published accuracy; changes are logit shifts with a per-item part "
        f"(sd {noise.SPREAD:g}).",
        "",
    ]
    header = (f"{'test':<26} {'n':>5} {'base k':>6} {'rates':>9} {'margin':>6} " + " ".join(f"{'k=' + str(k):>11}" for k in RUN_KS)
              + f" {'run k':>6} {'at run k':>10}")
    lines += [header, "-" * len(header)]
    for test in tests:
        cells = [f"{'/'.join(_drop(test, k, p) for p in POWERS):>11}" for k in RUN_KS]
        configured = test.case_k("repeats")
        at_run = "/".join(_drop(test, configured, p) for p in POWERS)
        run_k = "/".join(str(k) for k in sorted(set(configured.tolist())))
        base = "/".join(str(b) for b in sorted(set(test.case_k("baseline_repeats").tolist())))
        lines.append(f"{test.name:<26} {test.rates.shape[1]:>5} {base:>6} {test.source:>9} {test.margin * 100:>6g} "
                     + " ".join(cells) + f" {run_k:>6} {at_run:>10}")
    lines += ["", f"GPU cost ({planning.gpus} GPUs per server; each case's output tokens/s from `python -m evals estimate`: "
              "measured by a run of the profile, else the KV-bound model of evals/planning/throughput.py):"]
    singles = [t for t in tests if t.kind == "case"]
    for k in RUN_KS:
        tokens, hours = sum(t.tokens_at(k) for t in singles), sum(t.hours_at(k) for t in singles)
        lines.append(f"  every case at k={k:<3} {tokens / 1e6:8.1f} M tokens, {hours:7.1f} GPU-hours per run")
    run_k = {t.name: t.case_k("repeats") for t in singles}
    base_k = {t.name: t.case_k("baseline_repeats") for t in singles}
    run_hours = sum(t.hours_at(run_k[t.name]) for t in singles)
    over = run_hours - planning.budget_gpu_hours
    lines += [
        f"  as configured: {sum(t.tokens_at(run_k[t.name]) for t in singles) / 1e6:.1f} M tokens, "
        f"{run_hours:.1f} GPU-hours per run; "
        f"{sum(t.tokens_at(base_k[t.name]) for t in singles) / 1e6:.1f} M tokens, "
        f"{sum(t.hours_at(base_k[t.name]) for t in singles):.1f} GPU-hours per accepted baseline "
        f"(budget per run: {planning.budget_gpu_hours:g}" + (f"; OVER it by {over:.1f}" if over > 0 else "") + ")",
    ]
    return lines


def frontier(test: Planned, power: float, most: int = sensitivity.MAX_K) -> list[tuple[int, int]]:
    """(run k, the fewest baseline samples per item with which that run k detects a drop of
    the test's margin with `power`), for every run k that can, up to `most` each. The
    first is the least cost per run; later ones trade run samples (paid every run) for
    baseline samples (paid once per accepted baseline)."""
    shift = test.design(1, 1).shifts(test.margin)
    out: list[tuple[int, int]] = []
    for run_k in range(1, most + 1):
        baseline_k = sensitivity.fewest(
            lambda k: sensitivity.power_at_shift(test.design(run_k, k), shift, test.alpha) >= power, run_k, most)
        if baseline_k is not None and (not out or baseline_k < out[-1][1]):
            out.append((run_k, baseline_k))
    return out


def recommended(tests: list[Planned], matrix: Matrix, precision: str) -> dict[str, tuple[int, int]]:
    """Per task: (repeats, baseline_repeats) that let every pool holding it detect a drop of
    its margin with the planned power, at the least GPU cost of a run plus its share of a baseline
    (`planning.runs_per_baseline`): per pool the cheapest point of its frontier, per task the
    largest k any of its pools needs."""
    planning = matrix.planning
    out: dict[str, tuple[int, int]] = {}
    for test in tests:
        if test.kind == "case" or not (options := frontier(test, planning.target_power)):
            continue
        cost = lambda point: test.hours_at(point[0]) + test.hours_at(point[1]) / planning.runs_per_baseline  # noqa: E731
        run_k, baseline_k = min(options, key=cost)
        for case in test.cases:
            old = out.get(case.task.name, (0, 0))
            out[case.task.name] = (max(old[0], run_k), max(old[1], baseline_k))
    return out


def add_arguments(parser) -> None:
    parser.add_argument("--precision", default=REFERENCE_PRECISION, help="whose baselines to read (default: %(default)s)")
    parser.add_argument("--snapshots", type=Path, help="baselines root (default: the suite's snapshots/)")
    parser.add_argument("--recommend", action="store_true", help="least-cost run and baseline k for each pool's margin")
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"),
                        help="where runs are: output tokens/s a whole run of the profile measured (default: %(default)s)")


def command(args) -> int:
    from evals.config.paths import snapshots_dir

    matrix = args.matrix
    if matrix.planning is None:
        raise ConfigError(f"{matrix.source}: no `planning` section: the planner needs its cost assumptions")
    tests = planned_tests(matrix, args.profile, args.precision, args.snapshots or snapshots_dir(), args.artifacts)
    print("\n".join(render_table(matrix, args.profile, args.precision, tests)))
    if args.recommend:
        print(f"\nSamples per item at which each pool detects a drop of its margin with power {matrix.planning.target_power:g} "
              f"(baseline k <= {sensitivity.MAX_K}); the first line is the least cost per run:")
        for test in tests:
            if test.kind == "case":
                continue
            options = frontier(test, matrix.planning.target_power)
            if not options:
                print(f"  {test.name}: not within {sensitivity.MAX_K} samples per item")
            for run_k, baseline_k in options[:4]:
                run_hours, base_hours = test.hours_at(run_k), test.hours_at(baseline_k)
                print(f"  {test.name} (margin {test.margin * 100:g}): run k={run_k:<3} {run_hours:6.1f} GPU-hours per run, "
                      f"baseline k={baseline_k:<3} {base_hours:6.1f} GPU-hours once")
        chosen = recommended(tests, matrix, args.precision)
        print(f"\nRecommended (least GPU-hours per run plus 1/{matrix.planning.runs_per_baseline:g} of a baseline): "
              f"repeats {{{', '.join(f'{t}: {k}' for t, (k, _) in chosen.items())}}}, "
              f"baseline_repeats {{{', '.join(f'{t}: {b}' for t, (_, b) in chosen.items())}}}")
    return 0
