"""Scorers: pure functions of (response, gold) -> Verdict(correct, extracted, note)."""

from scorers.exact_match import exact_match
from scorers.integer_match import POLICIES, extract_integer, integer_match
from scorers.math_answer import extract_math_answer
from scorers.math_equiv import math_equiv
from scorers.verdict import Verdict

__all__ = ["POLICIES", "Verdict", "exact_match", "extract_integer", "extract_math_answer", "integer_match", "math_equiv"]
