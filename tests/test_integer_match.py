import pytest

from scorers import POLICIES, extract_integer, integer_match
from tests.responses import AIME_RESPONSES, THINKING_ONLY


@pytest.mark.parametrize("response,gold,expected", AIME_RESPONSES)
@pytest.mark.parametrize("policy", POLICIES)
def test_real_output_formats(response, gold, expected, policy):
    if policy == "strip_think" and response in THINKING_ONLY:
        expected = False
    verdict = integer_match(response, gold, policy=policy)
    assert verdict.correct is expected, verdict
    if verdict.correct:
        assert verdict.extracted == str(int(gold))


@pytest.mark.parametrize(
    "response,expected",
    [
        # prefer_final: after </think> first, then thinking stripped, then raw.
        ("<think>7</think>8", 8),
        ("<think>7</think>no number here", 7),
        ("3 <think>7</think>", 3),
        ("<think>7", 7),
        ("reasoning 5</think>", 5),
    ],
)
def test_prefer_final_order(response, expected):
    assert extract_integer(response, "prefer_final")[0] == expected


def test_strip_think_removes_unterminated_thinking():
    assert extract_integer("<think>12 13 14", "strip_think") == (None, "no answer")
    assert extract_integer("Final: 9 <think>12 13 14", "strip_think")[0] == 9


@pytest.mark.parametrize(
    "response,valid,expected",
    [
        ("\\boxed{1234}", (0, 999), None),
        ("\\boxed{1234}", (0, 9999), 1234),
        ("\\boxed{1{,}234}", (0, 9999), 1234),
        ("\\boxed{1\\,234}", (0, 9999), 1234),
        ("the answer is -12", (-100, 100), -12),
        ("the answer is −12", (-100, 100), -12),
        ("we found 12 ways in 2024", (0, 999), 12),
        ("the answer is 2024", (0, 999), None),
    ],
)
def test_valid_range_is_a_parameter(response, valid, expected):
    assert extract_integer(response, "raw", valid)[0] == expected


def test_out_of_range_box_is_reported_not_replaced():
    verdict = integer_match("I found 12, so \\boxed{1234}", "12")
    assert not verdict.correct
    assert verdict.extracted is None and "out of range" in verdict.note


def test_non_integer_gold_and_unknown_policy_are_errors():
    with pytest.raises(ValueError, match="integer gold"):
        integer_match("5", "\\frac{1}{2}")
    with pytest.raises(ValueError, match="policy"):
        integer_match("5", "5", policy="last")
