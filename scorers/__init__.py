"""Scorers: pure functions of (response, gold) -> Verdict(correct, extracted, note)."""

# Bump when any verdict changes: baselines made by another version are not comparable.
SCORER_VERSION = "2"

from scorers.exact_match import exact_match  # noqa: E402
from scorers.integer_match import POLICIES, extract_integer, integer_match  # noqa: E402
from scorers.math_answer import extract_math_answer  # noqa: E402
from scorers.math_equiv import math_equiv  # noqa: E402
from scorers.verdict import Verdict  # noqa: E402

__all__ = ["POLICIES", "SCORER_VERSION", "Verdict", "exact_match", "extract_integer", "extract_math_answer", "integer_match", "math_equiv"]
