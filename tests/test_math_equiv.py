import concurrent.futures
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scorers import extract_math_answer, math_equiv
from scorers.math_answer import quick_verdict
from scorers.sympy_worker import SympyWorker
from evals import data
from tests.responses import MATH_RESPONSES


@pytest.mark.parametrize("response,gold,expected", MATH_RESPONSES)
def test_answer_categories(response, gold, expected):
    assert math_equiv(response, gold).correct is expected


def test_every_math500_gold_equals_itself_boxed_and_without_timeout():
    golds = [row["answer"] for row in data.load("math500")]
    verdicts = [math_equiv(f"The answer is $\\boxed{{{g}}}$.", g) for g in golds]
    wrong = [(g, v) for g, v in zip(golds, verdicts) if not v.correct]
    assert wrong == []


@pytest.mark.parametrize(
    "response,expected",
    [
        ("so $\\boxed{\\frac{1}{2}}$ and done", "\\frac{1}{2}"),
        ("\\boxed{1} then \\boxed{2", "1"),  # a truncated last box does not count
        ("The final answer is $x^2+1$.", "x^2+1"),
        ("We get $a=3$ and then $b = 4$", "b = 4"),
        ("<think>$7$</think>\\[ 8 \\]", "8"),
        ("42", "42"),
    ],
)
def test_extraction(response, expected):
    assert extract_math_answer(response) == expected


def test_quick_verdict_leaves_hard_cases_to_sympy():
    assert quick_verdict("\\frac{1}{2}", "\\dfrac{1}{2}") is True
    assert quick_verdict("3", "4") is False
    assert quick_verdict("\\sqrt{8}", "2\\sqrt{2}") is None


def test_timeout_bounds_a_stuck_comparison_and_recovers():
    worker = SympyWorker(timeout=1.0)
    try:
        assert worker.equivalent("2", "2")[0] is True
        # sympy computes this power in C, where math-verify's own alarm cannot interrupt it.
        start = time.monotonic()
        verdict, note = worker.equivalent("5", "9^{9^{9^{9}}}")
        elapsed = time.monotonic() - start
        assert elapsed < 1.0 + 1.5
        assert verdict is False and note in (None, "timeout")
        assert worker.equivalent("\\frac{1}{2}", "0.5") == (True, None)
    finally:
        worker.close()


def test_bounded_in_threads():
    responses = [(f"\\boxed{{\\frac{{{i}}}{{{i + 1}}}}}", f"\\frac{{{2 * i}}}{{{2 * i + 2}}}") for i in range(1, 25)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        verdicts = list(pool.map(lambda rg: math_equiv(*rg), responses))
    assert all(v.correct for v in verdicts), verdicts


def test_model_text_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payloads = [
        f"\\boxed{{__import__('os').system('touch {marker}')}}",
        f"The answer is __import__('pathlib').Path('{marker}').touch()",
        f"$exec(\"open('{marker}','w')\")$",
        f"\\boxed{{eval(compile(\"open('{marker}','w')\", 'x', 'exec'))}}",
    ]
    for payload in payloads:
        assert math_equiv(payload, "1").correct is False
    assert not marker.exists()


def test_bounded_in_xdist_workers():
    # Each xdist worker runs tests in its own process; the sympy child and its
    # bound must work there too (math-verify's SIGALRM would not, off the main thread).
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "tests/test_math_equiv.py::test_timeout_bounds_a_stuck_comparison_and_recovers",
         "tests/test_math_equiv.py::test_bounded_in_threads",
         "tests/test_math_equiv.py::test_answer_categories"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
