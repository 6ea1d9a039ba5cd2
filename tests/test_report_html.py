"""The HTML report (evals/report/html.py, responses.py, page/): what it holds, where it finds a
baseline's responses, and, in Debian's chromium, that it opens offline with no console error,
shows any model output as text (a response holding <script> or </textarea> runs nothing),
cuts huge responses with the full text one click away, and draws the drift view. The flipped
filter on the degraded FP8 variant is in tests/test_gate_e2e.py (it shares that run)."""

import json
import re
import shutil
import time
from urllib.parse import quote

import pytest

from evals.artifacts.types import GateTerms, Record
from evals.report.build import write_report
from evals.report.responses import (
    HEAD_CHARS,
    TAIL_CHARS,
    WHOLE_CHARS,
    baseline_responses,
    case_items,
    read_span,
    shown_text,
)
from tests.browser import Page, browser, page_data

CASE = "fp8-aime24-think"
HOSTILE = ('<script>window.__pwned = 1</script></textarea></pre><img src=x onerror="window.__pwned = 2">'
           '{{data}} \x00\x07\x1b[31m & &amp; <b>bold?</b>')


def test_a_long_response_keeps_its_head_and_tail_and_where_the_scorer_read():
    text = "<think>" + "x" * 20_000 + "</think>\n\nso \\boxed{\\frac{1}{2}}"
    shown = shown_text(text, read_span(text, "\\frac{1}{2}"))
    assert len(shown["head"]) == HEAD_CHARS and len(shown["tail"]) == TAIL_CHARS
    assert shown["cut"] == len(text) - HEAD_CHARS - TAIL_CHARS
    part, start, end = shown["hl"]
    assert part == 1 and shown["tail"][start:end] == "\\frac{1}{2}"
    assert shown_text("short \\boxed{7}", read_span("short \\boxed{7}", None)) == {"text": "short \\boxed{7}", "hl": [0, 6, 15]}
    assert read_span("no box here", "12") is None and len("a" * WHOLE_CHARS) == WHOLE_CHARS


def _record(case, run, items):
    return Record(case, "tiny", "2026-12-07T00:00:00+0000", {}, GateTerms(1e-3, 0.01, 0.05, 0.95), "integer_match[prefer_final]", len(items), 1, {}, 0.0,
                  None, items, run).as_data()


def _samples(folder, case, outcomes):
    (folder / case).mkdir(parents=True, exist_ok=True)
    lines = [{"case": case, "item": item, "doc_id": 0, "repeat": 0, "gold": "1", "messages": None, "response": f"\\boxed{{{int(ok)}}}",
              "finish_reason": "stop", "prompt_tokens": 1, "completion_tokens": 1, "correct": ok, "verdicts": {}, "extracted": {}}
             for item, ok in outcomes.items()]
    (folder / case / "samples.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_a_baselines_responses_come_from_the_run_it_names_beside_this_one_or_it_says_where(tmp_path):
    run, made_it = tmp_path / "artifacts" / "now", tmp_path / "artifacts" / "then"
    (run / CASE).mkdir(parents=True)
    _samples(made_it, CASE, {"a": True, "b": False})
    (run / CASE / "baseline.json").write_text(json.dumps(_record(CASE, "then", {"a": "1/1", "b": "0/1"})))
    found = baseline_responses(run, CASE, None)
    assert found.why is None and [s.item for s in found.samples] == ["a", "b"] and found.counts == {"a": (1, 1), "b": (0, 1)}

    (run / CASE / "baseline.json").write_text(json.dumps(_record(CASE, "then", {"a": "0/1", "b": "0/1"})))
    found = baseline_responses(run, CASE, None)  # the folder holds other responses than the baseline counted
    assert found.samples is None and "not those the baseline counts" in found.why and found.counts == {"a": (0, 1), "b": (0, 1)}

    (run / CASE / "baseline.json").write_text(json.dumps(_record(CASE, "gone", {"a": "1/1", "b": "0/1"})))
    found = baseline_responses(run, CASE, None)
    assert found.samples is None and "made by run gone" in found.why and str(tmp_path / "artifacts" / "gone") in found.why

    (run / CASE / "baseline.json").write_text(json.dumps(_record(CASE, None, {"a": "1/1", "b": "0/1"})))
    assert "--against RUN" in baseline_responses(run, CASE, None).why
    assert baseline_responses(run, CASE, made_it).samples[0].item == "a"  # --against names the run


def test_a_damaged_samples_file_is_named_on_its_case_and_the_page_still_written(tmp_path):
    run = tmp_path / "artifacts" / "now"
    _samples(run, CASE, {"a": True})
    with open(run / CASE / "samples.jsonl", "a") as out:
        out.write('{"case": "fp8-ai\n')
    data, _ = case_items(run, CASE, "integer_match[prefer_final]", {}, None)
    assert data["items"] == [] and data["missing"].startswith(f"{run / CASE / 'samples.jsonl'}:2: not a JSON line")


def _hostile_copy(tiny_run, root):
    """A copy of the kept run whose FP8 AIME24 think case has one response holding markup,
    control characters and a 200,000-character line, and one holding nothing but markup."""
    copy = shutil.copytree(tiny_run, root / "artifacts" / tiny_run.name, ignore=shutil.ignore_patterns("generations", "servers"))
    path = copy / CASE / "samples.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    first, second = lines[0], next(line for line in lines if line["item"] != lines[0]["item"])
    first["response"] = "<think>" + HOSTILE + "\n" + "7" * 200_000 + "</think>\n\n" + HOSTILE + " so \\boxed{" + first["gold"] + "}"
    second["response"] = HOSTILE
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return copy, first, second


@pytest.fixture(scope="module")
def chromium():
    with browser() as launched:
        yield launched


def test_any_model_output_is_text_and_the_page_works_offline(tiny_run, tmp_path, chromium):
    copy, hostile, markup_only = _hostile_copy(tiny_run, tmp_path)
    started = time.perf_counter()
    paths = write_report(copy)
    seconds = time.perf_counter() - started
    html_path = paths["html"]
    text = html_path.read_text(encoding="utf-8")
    assert "__pwned" not in text and "</textarea>" not in text  # every response is inside a base64 block
    assert not re.search(r'(?:src|href)="(?:https?:)?//', text)  # nothing to fetch: it works offline
    data = page_data(html_path, f"case:{CASE}")
    kept = next(s for i in data["items"] if i["id"] == hostile["item"] for s in i["run"] if s["r"] == hostile["repeat"])
    assert kept["cut"] > 190_000 and kept["tail"].endswith(hostile["gold"] + "}")

    page = Page(chromium).open(html_path)
    try:
        assert page.page.locator("#overview table").count() >= 4  # report.md's tables, static
        page.go(f"case={CASE}&item={hostile['item']}")
        page.go(f"case={CASE}&item={markup_only['item']}")  # both open now
        detail = page.page.locator(f'tr[data-detail="{hostile["item"]}"]')
        sample = detail.locator(f'.sample.run[data-repeat="{hostile["repeat"]}"]')
        shown = sample.inner_text()
        assert "<script>window.__pwned = 1</script></textarea></pre><img src=x" in shown
        assert "{{data}} \u2400\u2407\u241b[31m & &amp; <b>bold?</b>" in shown  # control characters as their pictures
        assert sample.locator("mark").inner_text() == hostile["gold"]  # the part the scorer read
        assert page.page.evaluate("window.__pwned") is None
        assert page.page.locator("main img").count() == page.page.locator("figure img").count()  # no <img> from a response
        assert page.page.locator("b").count() == 0
        markup = page.page.locator(f'tr[data-detail="{markup_only["item"]}"] .sample.run[data-repeat="{markup_only["repeat"]}"]')
        assert HOSTILE.replace("\x00", "\u2400").replace("\x07", "\u2407").replace("\x1b", "\u241b") in markup.inner_text()
        page.screenshot("report-hostile-response")

        link = sample.locator(".cut a")
        assert link.get_attribute("href") == f"{CASE}/responses.html#" + quote(f"run/{hostile['item']}/{hostile['repeat']}", safe="")
        full = Page(chromium).open(copy / CASE / "responses.html", f"run/{hostile['item']}/{hostile['repeat']}")
        try:
            assert len(full.page.locator("pre").first.inner_text()) >= 200_000 and full.page.evaluate("window.__pwned") is None
            assert not full.errors(), full.console
        finally:
            full.close()

        page.go("drift")
        drifted = page.page.locator(".drift-response")
        assert drifted.count() == 10  # five per quantized precision
        first = drifted.first
        assert first.locator(".tokens span").count() > 10 and first.locator("tbody tr").count() == 5
        assert "background" in first.locator(".tokens span").first.get_attribute("style")
        page.screenshot("report-drift")
        assert not page.errors(), page.console
        assert not page.requests, page.requests  # offline: it asked for nothing
    finally:
        page.close()
    print(f"report of the tiny run written in {seconds:.2f} s")
