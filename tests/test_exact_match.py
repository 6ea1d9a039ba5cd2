"""exact_match must give lm-eval's own verdict (aime and hendrycks_math500)."""

import importlib

import pytest

from scorers import exact_match
from tests.responses import AIME_RESPONSES, MATH_RESPONSES

aime_utils = importlib.import_module("lm_eval.tasks.aime.utils")
math_utils = importlib.import_module("lm_eval.tasks.hendrycks_math.utils")

EXTRA = [
    ("$\\boxed{\\frac12}$", "\\frac{1}{2}"),
    ("The answer is $0.5$", "\\frac{1}{2}"),
    ("$x = 5$", "5"),
    ("$5$ $6$", "5"),
    ("\\boxed{5}", "5"),
    ("5 \\text{ cm}", "5"),
    ("$\\left( 3, \\frac{\\pi}{2} \\right)$", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\boxed 7$ and more", "7"),
    ("\\boxed{", "1"),
]
TABLE = [(r, g) for r, g, _ in AIME_RESPONSES] + [(r, g) for r, g, _ in MATH_RESPONSES] + EXTRA


@pytest.mark.parametrize("response,gold", TABLE)
def test_aime_verdict_is_lm_evals(response, gold):
    expected = aime_utils.process_results({"Answer": gold}, [response])["exact_match"]
    assert exact_match(response, gold, task="aime").correct is bool(expected)


@pytest.mark.parametrize("response,gold", TABLE)
def test_math500_verdict_is_lm_evals(response, gold):
    doc = {"solution": f"So the answer is $\\boxed{{{gold}}}$."}
    expected = math_utils.process_results(doc, [response])["exact_match"]
    assert exact_match(response, gold, task="math").correct is bool(expected)


def test_strictness_that_sank_the_seed_report():
    # The seed's near-zero numbers: strict matching rejects boxed and thinking output.
    assert not exact_match("<think>...</think> The answer is \\boxed{33}", "33", task="math").correct
    assert not exact_match("The answer is 33.", "33", task="aime").correct
