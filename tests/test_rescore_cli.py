"""`python -m scorers FILE... --out OUT.jsonl` on plain and lm-eval samples files."""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from scorers.__main__ import main
from tests.responses import AIME_RESPONSES, MATH_RESPONSES

ROOT = Path(__file__).resolve().parents[1]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_plain_records_get_the_primary_verdict_of_their_task(tmp_path, capsys):
    rows = [{"id": f"a{i}", "task": "aime", "mode": "think_final", "response": r, "gold": g} for i, (r, g, _) in enumerate(AIME_RESPONSES)]
    rows += [{"id": f"m{i}", "task": "math", "response": r, "gold": g} for i, (r, g, _) in enumerate(MATH_RESPONSES)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert main([str(src), "--out", str(out)]) == 0
    scored = read_jsonl(out)
    assert [s["id"] for s in scored] == [r["id"] for r in rows]
    expected = [e for _, _, e in AIME_RESPONSES] + [e for _, _, e in MATH_RESPONSES]
    assert [s["correct"] for s in scored] == expected
    first = scored[0]
    assert set(first["verdicts"]) == set(first["extracted"]) == {
        "exact_match", "integer_match[raw]", "integer_match[strip_think]", "integer_match[prefer_final]", "math_equiv"
    }
    assert first["mode"] == "think_final"
    assert set(scored[-1]["verdicts"]) == {"exact_match", "math_equiv"}
    printed = capsys.readouterr().out
    n_aime = len(AIME_RESPONSES)
    correct = sum(e for _, _, e in AIME_RESPONSES)
    assert re.search(rf"aime +think_final +integer_match\[prefer_final\] +{n_aime} +{correct / n_aime:.4f}", printed)


def test_task_defaults_from_the_gold_answer(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"response": "\\boxed{204}", "gold": "204"}, {"response": "\\boxed{1/2}", "gold": "\\frac12"}])
    out = tmp_path / "out.jsonl"
    assert main([str(src), "--out", str(out)]) == 0
    assert [(s["task"], s["correct"], s["id"]) for s in read_jsonl(out)] == [("aime", True, "1"), ("math", True, "2")]


def lm_eval_sample(doc_id, doc, target, responses):
    return {"doc_id": doc_id, "doc": doc, "target": target, "arguments": {}, "resps": [responses], "filtered_resps": [responses[0]]}


def test_lm_eval_samples_files_with_repeats(tmp_path):
    aime = write_jsonl(
        tmp_path / "samples_aime24_2025-12-24T00-00-00.jsonl",
        [
            lm_eval_sample(0, {"id": "2024-I-1", "answer": "204"}, "204", ["</think>\\boxed{204}", "</think>\\boxed{203}"]),
            lm_eval_sample(1, {"id": "2024-I-2", "answer": "25"}, "25", ["The answer is 25", "25"]),
        ],
    )
    math = write_jsonl(
        tmp_path / "samples_hendrycks_math500_2025-12-24T00-00-00.jsonl",
        [lm_eval_sample(0, {"problem": "p"}, "\\frac{1}{2}", ["$\\boxed{0.5}$"])],
    )
    out = tmp_path / "out.jsonl"
    assert main([str(aime), str(math), "--out", str(out)]) == 0
    scored = read_jsonl(out)
    assert [s["id"] for s in scored] == ["2024-I-1", "2024-I-2", "0"]
    assert scored[0]["correct"] == [True, False]
    assert scored[0]["extracted"]["integer_match[prefer_final]"] == ["204", "203"]
    assert scored[1]["correct"] == [True, True]
    assert scored[2]["task"] == "math" and scored[2]["correct"] is True


@pytest.mark.parametrize(
    "content,message",
    [
        ('{"response": "5", "gold": "5"}\n{not json\n', "in.jsonl:2: not valid JSON"),
        ('{"response": "5"}\n', "in.jsonl:1: missing field 'gold'"),
        ('{"response": 5, "gold": "5"}\n', "in.jsonl:1: field 'response' must be a string"),
        ('{"response": "5", "gold": "5", "task": "gsm8k"}\n', "in.jsonl:1: field 'task' is 'gsm8k'"),
        ("[1, 2]\n", "in.jsonl:1: expected a JSON object"),
        ('{"response": "5", "gold": null}\n', "in.jsonl:1: field 'gold' must be the answer as a string or integer, got None"),
        ('{"doc": {}, "target": null, "resps": [["5"]]}\n', "in.jsonl:1: field 'target' must be the answer"),
        ('{"response": "5", "gold": "5"}\n{"response": "\xff", "gold": "5"}\n'.encode("latin-1"), "in.jsonl:2: not UTF-8 text"),
        ('{"response": ' + "[" * 100000 + "]" * 100000 + ', "gold": "5"}\n', "in.jsonl:1: JSON nested too deeply"),
    ],
)
def test_bad_input_names_file_line_and_field_and_loses_nothing(tmp_path, capsys, content, message):
    src = tmp_path / "in.jsonl"
    src.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    out = tmp_path / "out.jsonl"
    out.write_text("previous results\n")
    assert main([str(src), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert out.read_text() == "previous results\n"


def test_samples_file_whose_task_cannot_be_told(tmp_path, capsys):
    src = write_jsonl(tmp_path / "samples_gsm8k_x.jsonl", [lm_eval_sample(0, {}, "5", ["5"])])
    assert main([str(src)]) == 2
    assert "pass --task" in capsys.readouterr().err
    assert main([str(src), "--task", "aime"]) == 0


def test_runs_as_a_module(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "x", "response": "<think>1</think>\\boxed{7}", "gold": "7"}])
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, "-m", "scorers", str(src), "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(out)[0]["correct"] is True
    assert "wrote 1 records" in proc.stdout


def test_out_never_replaces_an_input(tmp_path, capsys):
    first = write_jsonl(tmp_path / "a.jsonl", [{"response": "\\boxed{5}", "gold": "5"}])
    second = write_jsonl(tmp_path / "b.jsonl", [{"response": "\\boxed{6}", "gold": "5"}])
    (tmp_path / "link.jsonl").symlink_to(second)
    before = {p: p.read_bytes() for p in (first, second)}
    for out in (first, second, tmp_path / "link.jsonl", tmp_path / "." / "b.jsonl"):
        assert main([str(first), str(second), "--out", str(out)]) == 2
        assert f"--out {out} is an input" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in before} == before


def test_out_through_a_symlink_keeps_the_link_and_follows_the_umask(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"response": "\\boxed{5}", "gold": "5"}])
    target = tmp_path / "results" / "verdicts.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    (tmp_path / "out.jsonl").symlink_to(target)
    old = os.umask(0o027)
    try:
        assert main([str(src), "--out", str(tmp_path / "out.jsonl")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "out.jsonl").is_symlink() and read_jsonl(target)[0]["correct"] is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
