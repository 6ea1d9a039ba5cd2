"""The scorers on every kind of answer in tests/answer_kinds.py: all of them right, by
construction; where math-verify called directly disagrees on purpose, the case is named."""

import pytest
from math_verify import parse, verify

from scorers import integer_match, math_equiv
from tests import answer_kinds as kinds

MATH_KINDS = {"several boxes": kinds.SEVERAL_BOXES, "prose": kinds.PROSE, "unicode and words": kinds.UNICODE_AND_WORDS,
              "notation": kinds.NOTATION, "decimal comma": kinds.DECIMAL_COMMA,
              # issue 29 (notes and properties: tests/test_answer_kinds_more.py)
              "matrix brackets": kinds.MATRIX_BRACKETS, "unicode in prose": kinds.UNICODE_IN_PROSE,
              "option letters": kinds.OPTION_LETTERS, "prose-joined boxes": kinds.PROSE_JOINED_BOXES,
              "broken boxes": kinds.BROKEN_BOXES, "run-together conjunctions": kinds.RUN_TOGETHER,
              "spaced comma": kinds.SPACED_COMMA}


def cases(tables: dict[str, list]) -> list:
    return [pytest.param(r, g, e, id=f"{kind}: {r[:40]!r} vs {g!r}") for kind, table in tables.items() for r, g, e in table]


@pytest.mark.parametrize("response,gold,expected", cases(MATH_KINDS))
def test_math_equiv_on_every_kind(response, gold, expected):
    verdict = math_equiv(response, gold)
    assert verdict.correct is expected, verdict
    if expected:
        assert verdict.extracted  # the answer it read is reported


@pytest.mark.parametrize("response,gold,expected", cases({"decorated integers": kinds.DECORATED_INTEGERS}))
def test_integer_match_on_decorated_boxes(response, gold, expected):
    verdict = integer_match(response, gold)
    assert verdict.correct is expected, verdict
    assert verdict.extracted == (gold if expected else verdict.extracted)


@pytest.mark.parametrize("response,gold,expected", cases({"decimal comma": kinds.MATH_VERIFY_READS_A_DECIMAL_COMMA}))
def test_a_decimal_comma_is_where_the_project_disagrees_with_math_verify(response, gold, expected):
    assert verify(parse(f"${gold}$"), parse(response)) is True  # math-verify reads 1,22 as 1.22
    assert math_equiv(response, gold).correct is expected is False  # the project: the pair 1 and 22
