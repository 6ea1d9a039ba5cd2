"""The HTML report at full size (issue 28): a synthetic run of the full profile's shape, its
report.html's size, the time to write it, and in headless chromium (Debian's) its first paint
and the time to draw each case; and the tiny run's report.html write time beside it.

    python bench/bench_report_html.py [--keep DIR] [--scale 1.0]

The synthetic run: every case of the full profile with its items and uniform k (16,800
responses), each response's length drawn around its case's expected output tokens (the
planner's, evals/planning/power.py `output_tokens`: the seed report's lengths), lognormal
(sigma 0.6), cut at the case's max_gen_toks like the engine would (finish "length"), 4
characters a token, text of words, numbers and LaTeX that gzip compresses about as much as
reasoning does; 20% of each case's items flipped; a baseline run beside it with the
baseline's k per item (53,880 responses), whose responses the report reads to show the
flipped items' side by side."""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.artifacts.types import GateTerms, Record
from evals.config.matrix import load_matrix
from evals.planning.power import items, output_tokens

CHARS_PER_TOKEN = 4
WORDS = ["so", "the", "we", "let", "then", "thus", "consider", "since", "which", "gives", "equals", "because", "note", "that", "if", "and", "or", "not", "sum", "product", "root", "square", "triangle", "circle", "angle", "side", "area", "modulo", "prime", "divisor", "integer", "case", "wait", "check", "again", "hmm", "alternatively", "therefore", "compute", "substitute", "factor", "expand", "simplify"]
LATEX = ["\\frac{a}{b}", "x^2", "\\sqrt{3}", "\\binom{n}{k}", "\\pmod{7}", "a_n", "\\cdot", "\\le", "2^{10}", "\\pi r^2"]


def paragraphs(rng: random.Random, count: int = 3000) -> list[str]:
    out = []
    for _ in range(count):
        words = []
        for _ in range(rng.randint(40, 110)):
            roll = rng.random()
            words.append(str(rng.randint(0, 9999)) if roll < 0.15 else rng.choice(LATEX) if roll < 0.22 else rng.choice(WORDS))
        out.append(" ".join(words) + ".\n")
    return out


def response(rng: random.Random, pool: list[str], chars: int, thinking: bool, answer: str, finished: bool) -> str:
    parts, size = [], 0
    while size < chars:
        parts.append(rng.choice(pool))
        size += len(parts[-1])
    body = "".join(parts)[:chars]
    if not finished:
        return ("<think>\n" if thinking else "") + body
    if thinking:
        return f"<think>\n{body[: int(chars * 0.9)]}\n</think>\n\n{body[int(chars * 0.9):]} The answer is $\\boxed{{{answer}}}$."
    return f"{body} The answer is $\\boxed{{{answer}}}$."


def write_case(folder: Path, case, item_ids: list[str], k: int, mean_tokens: float, rng, pool, problems) -> dict[str, tuple[int, int]]:
    cap = case.generation.get("max_gen_toks", 32768)
    counts, lines = {}, []
    for item in item_ids:
        rate = rng.random()
        correct = 0
        for repeat in range(k):
            tokens = min(cap, max(20, int(rng.lognormvariate(math.log(mean_tokens) - 0.18, 0.6))))
            finished = tokens < cap
            ok = finished and rng.random() < rate
            correct += ok
            gold = "42"
            text = response(rng, pool, tokens * CHARS_PER_TOKEN, case.mode.enable_thinking, gold if ok else str(rng.randint(0, 999)), finished)
            lines.append(json.dumps({
                "case": case.id, "item": item, "doc_id": 0, "repeat": repeat, "gold": gold,
                "messages": [{"role": "user", "content": problems.get(item, "Question: ...")}],
                "chat_template_kwargs": {"enable_thinking": case.mode.enable_thinking}, "response": text,
                "finish_reason": "stop" if finished else "length", "prompt_tokens": 200, "completion_tokens": tokens,
                "correct": ok, "verdicts": {}, "extracted": {}, "notes": None if finished else {"x": "no answer"}}))
        counts[item] = (correct, k)
    (folder / case.id).mkdir(parents=True, exist_ok=True)
    (folder / case.id / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts


def record(case, run: str, counts: dict) -> Record:
    return Record(case.id, "full", "2026-12-07T00:00:00+0000", {}, GateTerms(1e-4, 0.01, 0.05, 0.95), "integer_match[prefer_final]",
                  len(counts), max(k for _, k in counts.values()), {}, 0.0, None,
                  {i: f"{c}/{k}" for i, (c, k) in counts.items()}, run)


def synthetic_run(root: Path, scale: float, seed: int = 0) -> tuple[Path, int, int]:
    """The run folder, its responses and characters (and the baseline run beside it)."""
    matrix = load_matrix()
    rng = random.Random(seed)
    pool = paragraphs(rng)
    problems = {}
    for name in ("aime24", "aime25", "math500"):
        for line in (ROOT / "evals" / "data" / f"{name}.jsonl").read_text().splitlines():
            row = json.loads(line)
            problems[str(row.get("id", row.get("unique_id")))] = row.get("problem", "")
    run, base = root / "artifacts" / "20261207-000000-full", root / "artifacts" / "20261201-000000-full"
    cases = matrix.cases("full")
    responses = chars = 0
    manifest = {"profile": "full", "started": "2026-12-07T00:00:00+00:00", "cases": [c.id for c in cases], "models": {},
                "versions": {}, "hardware": {}, "published": {}}
    for folder in (run, base):
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps(manifest))
    for case in cases:
        ids = [f"{case.task.name}-{i}" for i in range(max(1, int(items(case) * scale)))]
        mean, _ = output_tokens(matrix, case, ROOT / "snapshots")
        base_counts = write_case(base, case, ids, case.baseline_repeats, mean, rng, pool, problems)
        counts = write_case(run, case, ids, case.repeats, mean, rng, pool, problems)
        responses += len(ids) * case.repeats
        chars += (run / case.id / "samples.jsonl").stat().st_size
        flipped = rng.sample(ids, max(1, len(ids) // 5))
        worse = [i for i in flipped if counts[i][0] / counts[i][1] < base_counts[i][0] / base_counts[i][1]]
        better = [i for i in flipped if i not in worse]
        mean_now = statistics.fmean(c / k for c, k in counts.values())
        summary = {"precision": case.precision, "task": case.task.name, "mode": case.mode.name, "thinking": case.mode.enable_thinking,
                   "primary": "integer_match[prefer_final]", "n": len(ids), "k": case.repeats,
                   "metrics": {"integer_match[prefer_final]": {"mean": mean_now, "stderr": 0.02}}, "truncation_rate": 0.01,
                   "output_tokens": {"mean": mean, "max": case.generation.get("max_gen_toks", 0)}}
        gate = {"status": "no regression beyond the margin", "passed": True, "reference": 0.5, "current": mean_now, "drop": 0.01,
                "upper": 0.04, "margin": 0.05, "detectable": 0.05, "p_value": 0.3, "worse": worse, "better": better}
        for name, data in (("summary.json", summary), ("gate.json", gate), ("baseline.json", record(case, base.name, base_counts).as_data()),
                           ("record.json", record(case, run.name, counts).as_data())):
            (run / case.id / name).write_text(json.dumps(data))
    for name in ("pooled.json", "recovery.json"):
        (run / name).write_text("{}")
    return run, responses, chars


FIRST_PAINT = """() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime ?? null"""


def in_chromium(page_path: Path, cases: list[str]) -> dict:
    from tests.browser import Page, browser

    out = {}
    with browser() as chromium:
        page = Page(chromium)
        started = time.perf_counter()
        page.page.goto(page_path.as_uri(), wait_until="load", timeout=600_000)
        out["load_s"] = time.perf_counter() - started
        page.ready()
        out["first_paint_s"] = page.page.evaluate(FIRST_PAINT) / 1000
        out["ready_s"] = time.perf_counter() - started
        drawn = {}
        for case in cases:
            t = time.perf_counter()
            page.go(f"case={case}")
            drawn[case] = time.perf_counter() - t
        if drawn:
            out["slowest_case"] = max(drawn, key=drawn.get)
            out["slowest_case_s"] = drawn[out["slowest_case"]]
        out["errors"] = page.errors()
        page.close()
    return out


def tiny_write_seconds() -> float | None:
    """The median of 5 writes of report.html for the newest tiny run under artifacts/, if any."""
    from evals.report.build import build_report
    from evals.report.html import write_html

    runs = sorted((m.parent for m in (ROOT / "artifacts").glob("*-tiny/manifest.json")), key=lambda p: p.name)
    if not runs:
        return None
    report = build_report(runs[-1])
    with tempfile.TemporaryDirectory() as out:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            write_html(report, Path(out))
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="make the synthetic run here and keep it")
    parser.add_argument("--scale", type=float, default=1.0, help="share of each case's items (1.0: the full profile's)")
    args = parser.parse_args()
    from evals.report.build import build_report
    from evals.report.html import write_html

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        t = time.perf_counter()
        run, responses, chars = synthetic_run(root, args.scale)
        print(f"synthetic full run: {responses:,} responses, samples.jsonl {chars / 1e6:,.0f} MB "
              f"(+ a baseline run beside it), made in {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        report = build_report(run)
        path = write_html(report, run)
        write_s = time.perf_counter() - t
        fulls = sorted(run.glob("*/responses.html"), key=lambda p: p.stat().st_size)
        print(f"report.html: {path.stat().st_size / 1e6:.1f} MB, written in {write_s:.1f} s (reading every response of the run "
              f"and the baseline's); {len(fulls)} full-text pages beside it, {sum(p.stat().st_size for p in fulls) / 1e6:.0f} MB, "
              f"the largest {fulls[-1].stat().st_size / 1e6:.1f} MB" if fulls else "")
        shown = in_chromium(path, list(report["cases"]))
        print(f"headless chromium: first paint {shown['first_paint_s']:.2f} s (goal <= 3 s), load {shown['load_s']:.2f} s, "
              f"data read and first view drawn {shown['ready_s']:.2f} s; slowest case view {shown['slowest_case']} "
              f"{shown['slowest_case_s']:.2f} s; console errors: {shown['errors'] or 'none'}")
        if fulls:
            largest = in_chromium(fulls[-1], [])
            print(f"largest full-text page: first paint {largest['first_paint_s']:.2f} s, drawn {largest['ready_s']:.2f} s")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    tiny = tiny_write_seconds()
    print("tiny run: report.html written in " + ("(no tiny run under artifacts/)" if tiny is None else f"{tiny:.2f} s (median of 5; goal < 2 s)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
