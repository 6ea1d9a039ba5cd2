"""Hypothesis properties of the extraction scorers."""

import re
import time

from hypothesis import assume, example, given
from hypothesis import strategies as st

from scorers import POLICIES, exact_match, extract_integer, extract_math_answer, integer_match, math_equiv
from scorers.math_equiv import MAX_COMPARISONS
from scorers.sympy_worker import DEFAULT_TIMEOUT_S

# Every way a model states an integer answer that integer_match supports.
INTEGER_WRAPPERS = [
    "{n}",
    "{n:03d}",
    "{n}.0",
    "$ {n} $",
    "\\( {n} \\)",
    "\\[{n}\\]",
    "**{n}**",
    "\\boxed{{{n}}}",
    "$\\boxed{{{n}}}$",
    "\\boxed{{\\textbf{{{n}}}}}",
    "\\fbox{{{n}}}",
    "\\boxed {n}",
    "The answer is {n}.",
    "The final answer is $\\boxed{{{n}}}$.",
    "**Answer:** {n}",
    "Answer: $ {n} $",
    "Final Answer: {n:03d}",
    "So $x = {n}$",
    "The answer is not {other}; it is {n}.",
    "The answer is {n}, not {other}.",
]
# Text without digits or markup, to surround an answer.
PROSE = st.text(alphabet=st.characters(categories=["L", "Zs"], exclude_characters="\\{}$<>*"), max_size=80)
AIME_INT = st.integers(0, 999)


def stated(wrapper: str, n: int, other: int) -> str:
    return wrapper.format(n=n, other=other)


@given(n=AIME_INT, other=AIME_INT, wrapper=st.sampled_from(INTEGER_WRAPPERS), prose=PROSE, policy=st.sampled_from(POLICIES))
@example(n=0, other=0, wrapper="{n}", prose="NORA", policy="raw")  # a word that starts like "nor" negates nothing
@example(n=12, other=0, wrapper="{n}", prose="notably", policy="raw")
def test_any_integer_under_any_wrapper_is_extracted(n, other, wrapper, prose, policy):
    # "... nor 5" or "... not 5" says the answer is not 5: the scorer reads it so on purpose.
    assume(not re.search(r"(?i)\b(not|nor)\s*$", prose))
    response = prose + " " + stated(wrapper, n, other)
    assert extract_integer(response, policy) == (n, None)


@given(n=st.integers(-(10**7), 10**7), wrapper=st.sampled_from(["{s}", "\\boxed{{{s}}}", "The answer is {s}."]))
def test_thousands_separators_and_signs(n, wrapper):
    for spelled in (f"{n:,}", f"{n:,}".replace(",", "{,}"), str(n)):
        response = wrapper.format(s=spelled)
        assert extract_integer(response, "raw", (-(10**7), 10**7))[0] == n, response


# Thinking full of numbers, boxes and answer phrases, but never closing itself.
THINKING = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.integers(-5000, 5000).map(str),
        st.integers(0, 999).map(lambda i: f"\\boxed{{{i}}}"),
        st.integers(0, 999).map(lambda i: f"The answer is {i}."),
        st.just("\\boxed{"),
        st.just("<think>"),
    ),
    max_size=20,
).map("".join)


@given(thinking=THINKING, n=AIME_INT, other=AIME_INT, wrapper=st.sampled_from(INTEGER_WRAPPERS))
def test_thinking_never_beats_the_final_answer(thinking, n, other, wrapper):
    assume("</think>" not in thinking)
    response = "<think>" + thinking + "</think>\n\n" + stated(wrapper, n, other)
    assert extract_integer(response, "prefer_final") == (n, None)
    assert extract_integer(thinking + "</think>" + stated(wrapper, n, other), "prefer_final") == (n, None)


MATH_ANSWERS = st.sampled_from(
    ["\\frac{1}{2}", "x \\in [-2,7]", "\\{1,2\\}", "(1,2)", "\\sqrt{3}", "30^\\circ", "\\text{(C)}", "y=2x+3", "-7", "0.25"]
)


@given(thinking=THINKING, answer=MATH_ANSWERS, wrapper=st.sampled_from(["\\boxed{{{a}}}", "$\\boxed{{{a}}}$", "Final answer: ${a}$"]))
@example(thinking="<|im_end|>", answer="\\frac{1}{2}", wrapper="\\boxed{{{a}}}")  # a template marker in the thinking
@example(thinking="so 3<|im_end|>", answer="-7", wrapper="Final answer: ${a}$")
def test_thinking_never_beats_the_final_math_answer(thinking, answer, wrapper):
    assume("</think>" not in thinking)
    response = "<think>" + thinking + "</think>\n" + wrapper.format(a=answer)
    assert extract_math_answer(response) == answer


@given(text=st.text(max_size=300), policy=st.sampled_from(POLICIES))
@example(text="The answer is 5. Wait, actually 6", policy="raw")
def test_integer_extraction_is_idempotent(text, policy):
    value, _ = extract_integer(text, policy)
    if value is not None:
        assert extract_integer(str(value), policy) == (value, None)


@given(text=st.text(max_size=300))
@example(text="The answer is \\boxed{\\text{answer: 5}}")
@example(text="The answer is $5$ apples.")
@example(text="\\boxed{$x = 2$, $y=3$}")  # issue 29's kinds: a box broken by stray `$`
@example(text="Final Answer: The roots are $-1$ and $3$.")
@example(text="The answer is option C")
@example(text="So the area is 2π.")
@example(text="x = \\boxed{2}, y = \\boxed{3}")
@example(text="$\\boxed{1$}$, $\\boxed{x is 2$}$")
def test_math_extraction_is_idempotent(text):
    answer = extract_math_answer(text)
    if answer is not None:
        assert extract_math_answer(answer) == answer


GOLDS = st.sampled_from(["204", "\\frac{1}{2}", "x \\in [-2,7]", "\\text{(C)}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"])


@given(response=st.text(max_size=2000), gold=GOLDS)
def test_arbitrary_unicode_never_raises_and_is_bounded(response, gold):
    for scorer in (lambda: math_equiv(response, gold), lambda: exact_match(response, gold, "math")):
        start = time.monotonic()
        verdict = scorer()
        assert isinstance(verdict.correct, bool)
        assert time.monotonic() - start < MAX_COMPARISONS * DEFAULT_TIMEOUT_S + 2.0
    if gold.isdigit():
        for policy in POLICIES:
            assert isinstance(integer_match(response, gold, policy).correct, bool)


# Phrasings of a final answer that math_equiv accepts for any MATH-500 gold.
MATH_PHRASINGS = [
    "\\boxed{{{a}}}",
    "The answer is $\\boxed{{{a}}}$.",
    "Final Answer: The final answer is ${a}$. I hope it is correct.",
    "**Answer:** ${a}$",
    "Therefore, the answer is ${a}$.",
    "<think>\nsome work\n</think>\n\n$$\\boxed{{{a}}}$$",
]


def _math500_golds() -> list[str]:
    from evals import data

    return [row["answer"] for row in data.load("math500")]


@given(gold=st.sampled_from(_math500_golds()), phrasing=st.sampled_from(MATH_PHRASINGS), prose=PROSE)
def test_a_correct_answer_stays_correct_in_any_accepted_phrasing(gold, phrasing, prose):
    assert math_equiv(prose + "\n\n" + phrasing.format(a=gold), gold).correct


CHAT_TAILS = st.sampled_from(["<|im_end|>", "<|im_end|>\n<|im_start|>user\n", "<|endoftext|>", "\n<|im_start|>assistant\n"])


@given(n=AIME_INT, other=AIME_INT, wrapper=st.sampled_from(INTEGER_WRAPPERS), tail=CHAT_TAILS, after=st.text(max_size=80))
def test_a_chat_template_tail_changes_no_integer_verdict(n, other, wrapper, tail, after):
    response = stated(wrapper, n, other)
    for policy in POLICIES:
        assert extract_integer(response + tail + after, policy) == extract_integer(response, policy)


@given(gold=st.sampled_from(_math500_golds()), phrasing=st.sampled_from(MATH_PHRASINGS), tail=CHAT_TAILS,
       after=st.text(max_size=80))
def test_a_chat_template_tail_changes_no_math_verdict(gold, phrasing, tail, after):
    response = phrasing.format(a=gold)
    assert math_equiv(response + tail + after, gold) == math_equiv(response, gold)


# Decorations of a boxed AIME integer that still state it, and boxes that state no integer.
DECORATIONS = ["+{n}", "{n:03d}", "{n} \\text{{ meters}}", "{n}\\text{{ ways}}", "a+b={n}", "\\${n}", "{n}^\\circ", "m + n = {n}"]
NOT_INTEGERS = ["{n}.5", "{n}\\sqrt{{2}}", "{n}.{n} \\times 10", "\\frac{{{n}}}{{7}}"]


@given(n=AIME_INT, decoration=st.sampled_from(DECORATIONS), prose=PROSE)
def test_a_decorated_boxed_integer_is_that_integer(n, decoration, prose):
    assert integer_match(prose + " \\boxed{" + decoration.format(n=n) + "}", str(n)).correct


@given(n=AIME_INT, decoration=st.sampled_from(NOT_INTEGERS))
def test_a_boxed_non_integer_is_no_integer(n, decoration):
    assume(not (decoration == "\\frac{{{n}}}{{7}}" and n % 7 == 0))
    assert extract_integer("\\boxed{" + decoration.format(n=n) + "}")[0] is None
