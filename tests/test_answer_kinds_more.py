"""Issue 29: the last kinds of answers the scorers misread (tables in tests/answer_kinds.py, each
case judged in tests/test_answer_kinds.py): the note that says what each new reading read, what
it read reads the same boxed, and a hypothesis property per family of the kind:
bracket environments x matrix contents, option letters x phrasings, unicode constants x
sentence frames, labelled boxes x part counts, broken boxes x lists, conjunctions x equations,
digit groups x commas."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorers import extract_math_answer, math_equiv
from scorers.math_answer import JOINED_BOXES_NOTE, JOINED_SPANS_NOTE, OPTION_NOTE, UNICODE_NOTE
from scorers.notation import EQUATIONS_NOTE, MATRIX_NOTE, SPACED_COMMA_NOTE
from tests import answer_kinds as kinds
from tests.test_answer_kinds import MATH_KINDS
from tests.test_properties import PROSE

NOTES = [
    ("\\boxed{\\begin{Bmatrix} 1 & 2 \\\\ 3 & 4 \\end{Bmatrix}}", kinds.MATRIX_BRACKETS[0][1], "1 & 2", MATRIX_NOTE),
    ("So the circumference is 2π.", "2\\pi", "2π", UNICODE_NOTE),
    ("The correct option is (B).", "\\text{(B)}", "(B)", OPTION_NOTE),
    ("The answer is option C", "\\text{(C)}", "(C)", OPTION_NOTE),
    ("\\boxed{3} for part (a) and \\boxed{5} for part (b)", "3, 5", "3, 5", JOINED_BOXES_NOTE),
    ("x = \\boxed{2}, y = \\boxed{3}", "2, 3", "2, 3", JOINED_BOXES_NOTE),
    ("\\boxed{$x = 2$, $y=3$}", "x=2, y=3", "x = 2, y=3", JOINED_SPANS_NOTE),
    ("\\boxed{x=2andy=3}", "x=2, y=3", "x=2andy=3", EQUATIONS_NOTE),
    ("\\boxed{12, 345}", "12345", "12, 345", SPACED_COMMA_NOTE),
]


@pytest.mark.parametrize("response,gold,read,note", NOTES, ids=[n[3] for n in NOTES])
def test_the_note_says_what_a_new_reading_read(response, gold, read, note):
    verdict = math_equiv(response, gold)
    assert read in verdict.extracted and note in verdict.note, verdict


@pytest.mark.parametrize("response,gold", [("\\boxed{5}", "5"), ("\\boxed{1, 2, 3}", "1,2,3"), ("The answer is $x = 5$.", "5"),
                                           ("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
                                           ("\\boxed{2} or \\boxed{-5}", "-5, 2"), ("The answer is $5$ apples.", "5")])
def test_plain_readings_carry_no_note(response, gold):
    verdict = math_equiv(response, gold)
    assert verdict.correct and verdict.note is None, verdict


# Bracket environments x matrix contents.
SAME_MATRIX = [
    "\\begin{{pmatrix}}{b}\\end{{pmatrix}}",
    "\\begin{{bmatrix}}{b}\\end{{bmatrix}}",
    "\\begin{{Bmatrix}}{b}\\end{{Bmatrix}}",
    "\\begin{{matrix}}{b}\\end{{matrix}}",
    "\\left(\\begin{{array}}{{{c}}}{b}\\end{{array}}\\right)",
    "\\left[ \\begin{{array}}{{{c}}}{b}\\end{{array}} \\right]",
    "(\\begin{{array}}{{{c}}}{b}\\end{{array}})",
    "\\left[\\begin{{matrix}}{b}\\end{{matrix}}\\right]",
]
MATRICES = st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
    lambda shape: st.lists(st.lists(st.integers(-30, 30), min_size=shape[1], max_size=shape[1]), min_size=shape[0],
                           max_size=shape[0]))


def matrix(environment: str, rows: list[list[int]]) -> str:
    body = " \\\\ ".join(" & ".join(map(str, row)) for row in rows)
    return environment.format(b=f" {body} ", c="c" * len(rows[0]))


@given(rows=MATRICES, written=st.sampled_from(SAME_MATRIX), gold=st.sampled_from(SAME_MATRIX), at=st.integers(0, 8))
def test_a_matrix_is_itself_in_any_brackets_and_not_with_another_entry(rows, written, gold, at):
    response = f"So the matrix is $\\boxed{{{matrix(written, rows)}}}$."
    assert math_equiv(response, matrix(gold, rows)).correct
    changed = [row[:] for row in rows]
    changed[at % len(rows)][at % len(rows[0])] += 1
    assert not math_equiv(response, matrix(gold, changed)).correct


SQUARE = st.integers(2, 3).flatmap(lambda n: st.lists(st.lists(st.integers(-30, 30), min_size=n, max_size=n),
                                                       min_size=n, max_size=n))


@given(rows=SQUARE, gold=st.sampled_from(SAME_MATRIX), bars=st.sampled_from(["vmatrix", "Vmatrix"]))
def test_a_determinant_or_a_norm_is_no_matrix(rows, gold, bars):
    response = f"\\boxed{{\\begin{{{bars}}} {matrix('{b}', rows)} \\end{{{bars}}}}}"
    assert not math_equiv(response, matrix(gold, rows)).correct


# Option letters x phrasings.
OPTION_PHRASINGS = [
    "The correct option is ({L}).",
    "The answer is option {L}",
    "The correct answer is choice ({L}).",
    "Checking each one, option {L} is correct.",
    "So the right choice is {L}.",
    "Hence the correct option is **({L})**.",
    "The answer is option ({L}), since the others fail.",
    "Therefore, the correct answer is ({L}).",
    "A check of every case shows that option ({L}) is the correct one.",
    "Final Answer: The correct choice is letter {L}.",
]


@given(letter=st.sampled_from("ABCDE"), other=st.sampled_from("ABCDE"), phrasing=st.sampled_from(OPTION_PHRASINGS), prose=PROSE)
def test_an_option_letter_stated_in_prose_is_read(letter, other, phrasing, prose):
    response = prose + "\n\n" + phrasing.format(L=letter)
    verdict = math_equiv(response, f"\\text{{({letter})}}")
    assert verdict.correct and letter in verdict.extracted, verdict
    assert math_equiv(response, f"\\text{{({other})}}").correct is (other == letter)


# Unicode constants x sentence frames.
CONSTANTS = [("2π", "2\\pi"), ("√3", "\\sqrt{3}"), ("∞", "\\infty"), ("π/2", "\\frac{\\pi}{2}"), ("3√2", "3\\sqrt{2}"),
             ("−∞", "-\\infty"), ("4π/3", "\\frac{4\\pi}{3}"), ("(1+√5)/2", "\\frac{1+\\sqrt{5}}{2}"), ("½π", "\\frac{\\pi}{2}")]
FRAMES = ["So the {noun} is {c}.", "Therefore the {noun} equals {c}.", "Hence, the {noun} is exactly {c} units.",
          "Putting it together, the {noun} is {c}", "Thus the {noun} of the figure is {c} square units!",
          "<think>\nit is 7, or {c}?\n</think>\nAfter checking, the {noun} is {c}."]


@given(constant=st.sampled_from(CONSTANTS), other=st.sampled_from(CONSTANTS), frame=st.sampled_from(FRAMES),
       noun=st.sampled_from(["area", "length", "limit", "value of the sum", "circumference"]), prose=PROSE)
def test_a_unicode_constant_in_a_final_sentence_is_read(constant, other, frame, noun, prose):
    response = prose + "\n\n" + frame.format(noun=noun, c=constant[0])
    verdict = math_equiv(response, constant[1])
    assert verdict.correct and verdict.extracted == constant[0], verdict
    assert math_equiv(response, other[1]).correct is (other[1] == constant[1])  # π/2 and ½π: one gold


# Part labels and equations x several boxes.
LABELLED = [
    ("\\boxed{{{v}}} for part ({p})", " and "),
    ("Part ({p}): $\\boxed{{{v}}}$.", " "),
    ("({p}) \\boxed{{{v}}}", "; "),
    ("the answer to part ({p}) is \\boxed{{{v}}}", ", and "),
    ("${x} = \\boxed{{{v}}}$", ", "),
    ("{x} = \\boxed{{{v}}}", " and "),
]


@given(values=st.lists(st.integers(-99, 99), min_size=2, max_size=4, unique=True), style=st.sampled_from(LABELLED))
def test_boxes_joined_by_part_labels_or_equations_are_one_answer(values, style):
    piece, joiner = style
    response = "So " + joiner.join(piece.format(v=v, p="abcd"[i], x="xyzw"[i]) for i, v in enumerate(values))
    verdict = math_equiv(response, ", ".join(map(str, reversed(values))))
    assert verdict.correct and JOINED_BOXES_NOTE in verdict.note, verdict
    assert not math_equiv(response, str(values[-1])).correct


# Lists in boxes broken by stray `$` x a "Final Answer" sentence.
BROKEN = ["$\\boxed{{{first}$, ${rest}}}$", "\\boxed{{${first}$, ${rest}$}}", "$\\boxed{{{first}, {rest}$}}$"]
FINAL_SENTENCES = ["", "\n\nFinal Answer: The final answer is ${first}$, ${rest}$.", "\n\n**Final Answer**\nThey are ${first}$ and ${rest}$."]


@given(values=st.lists(st.integers(-99, 99), min_size=2, max_size=4, unique=True), box=st.sampled_from(BROKEN),
       final=st.sampled_from(FINAL_SENTENCES), names=st.booleans())
def test_a_box_broken_by_stray_dollars_is_read_whole(values, box, final, names):
    items = [f"x_{i} = {v}" if names else str(v) for i, v in enumerate(values)]
    first, rest = items[0], "$, $".join(items[1:])
    response = box.format(first=first, rest=rest) + final.format(first=first, rest=rest)
    verdict = math_equiv(response, ", ".join(items))
    assert verdict.correct, verdict
    assert not math_equiv(response, items[-1]).correct


# Conjunctions x equations.
CONJUNCTIONS = ["and", "or", "\\text{and}", "\\text{ and }", "\\quad\\text{and}\\quad ", " and ", "\\mbox{or}"]


@given(names=st.lists(st.sampled_from("abmnxyz"), min_size=2, max_size=3, unique=True),
       values=st.lists(st.integers(0, 99), min_size=3, max_size=3), conjunction=st.sampled_from(CONJUNCTIONS))
def test_equations_joined_by_a_conjunction_are_a_list(names, values, conjunction):
    equations = [f"{n}={v}" for n, v in zip(names, values)]
    verdict = math_equiv(f"\\boxed{{{conjunction.join(equations)}}}", ", ".join(equations))
    assert verdict.correct and EQUATIONS_NOTE in verdict.note, verdict
    wrong = equations[:-1] + [f"{names[len(equations) - 1]}={values[len(equations) - 1] + 1}"]
    assert not math_equiv(f"\\boxed{{{conjunction.join(equations)}}}", ", ".join(wrong)).correct


# Digit groups x commas.
@given(high=st.integers(1, 999), low=st.integers(100, 999), spaces=st.sampled_from([" ", "  ", "\u00a0"]),
       wrapper=st.sampled_from(["\\boxed{{{a}}}", "The answer is ${a}$.", "The answer is {a}."]))
def test_a_comma_and_a_space_separate_items_and_a_bare_comma_thousands(high, low, spaces, wrapper):
    listed = wrapper.format(a=f"{high},{spaces}{low}")
    assert not math_equiv(listed, str(high * 1000 + low)).correct
    assert math_equiv(listed, f"{high}, {low}").correct
    assert math_equiv(wrapper.format(a=f"{high},{low}"), str(high * 1000 + low)).correct


@pytest.mark.parametrize("response", sorted({r for table in MATH_KINDS.values() for r, _, _ in table}))
def test_what_any_kind_read_reads_the_same_boxed(response):
    answer = extract_math_answer(response)
    assert answer is None or extract_math_answer(f"\\boxed{{{answer}}}") == answer
