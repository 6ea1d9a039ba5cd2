"""Other spellings of a stated math answer, rewritten as the LaTeX the scorers compare:
unicode (`¾`, `√3`, `2π`, `x²`), number words ("twelve"), mixed numbers (`3 1/4`), matrices
in any bracket environment (`bmatrix`, `Bmatrix`, `matrix`, an array in parentheses: all
`pmatrix`), equations joined by a conjunction (`x=2andy=3`: `x=2, y=3`); and thousands
separators (`1,000.5`). Pure string work, linear in the input.

A comma between digits is read as a thousands separator only in that exact form
(`1,000` or `12,345.5`): English MATH answers never use a decimal comma, so `1,22` stays
the pair 1 and 22 (math-verify reads it as 1.22; tests/test_math_equiv.py names the case).
A comma followed by a space separates list items, so `12, 345` is the pair 12 and 345 and
`1,000, 2,000` the pair 1000 and 2000.
"""

from __future__ import annotations

import re

from scorers.verdict import joined_notes

_VULGAR = {
    "½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅖": "2/5", "⅗": "3/5",
    "⅘": "4/5", "⅙": "1/6", "⅚": "5/6", "⅐": "1/7", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8", "⅞": "7/8",
    "⅑": "1/9", "⅒": "1/10",
}
_SYMBOLS = {
    "π": "\\pi ", "∞": "\\infty ", "×": "\\times ", "·": "\\cdot ", "÷": "\\div ", "±": "\\pm ",
    "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ", "∪": "\\cup ", "∩": "\\cap ", "θ": "\\theta ",
    "−": "-", "–": "-", "\u2009": " ", "\u00a0": " ",
}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_UNICODE = re.compile(
    r"(?P<mixed>\d)?(?P<vulgar>[" + "".join(_VULGAR) + r"])"
    r"|√(?P<root>\d+(?:\.\d+)?|[A-Za-z]|\{[^{}]{0,200}\}|\([^()]{0,200}\))"
    r"|(?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)"
    r"|(?P<symbol>[" + "".join(_SYMBOLS) + r"])"
)
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_WORD_ANSWER = re.compile(r"(?i)[a-z][a-z \-]{1,80}")
# A number in words, as a regex for readers of prose ("there are twelve").
NUMBER_WORDS = r"(?i:(?:%s)(?:[\s\-]+(?:and[\s\-]+)?(?:%s))*)(?![A-Za-z])" % (("|".join([*_TENS, *sorted(_NUMBER_WORDS, key=len, reverse=True), "hundred", "thousand"]),) * 2)
_MIXED = re.compile(r"(-?)(\d{1,9})(?:\s+(\d{1,9})/(\d{1,9})|\s*\\[dt]?frac\{(\d{1,9})\}\{(\d{1,9})\})")
_WORDS_THEN_UNIT = re.compile(r"(?P<number>" + NUMBER_WORDS + r")(?:\s+[A-Za-z]+){0,3}\.?")  # "twelve apples."
_PERCENT = re.compile(r"(?<!\\)%")  # LaTeX reads a bare % as a comment
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_LIST_COMMA = re.compile(r"(,\s+)")  # a comma and a space: between list items, never in a number
_SPACED_THOUSANDS = re.compile(r"(?<![\d,.])\d{1,3}(?:,\s+(?:\\!\s*)?\d{3})+(?![\d.])")  # `12, 345`, `10, \!080`
# Unicode that writes math in prose (constants, roots, vulgar fractions, superscripts), and
# a run of it with digits and operators, as a regex for readers of prose ("the area is 4π").
UNICODE_MATH_CHARS = "π∞√θ" + "".join(_VULGAR) + "⁰¹²³⁴⁵⁶⁷⁸⁹"
_MATH_RUN = r"[\d()+\-−/^×·÷±" + UNICODE_MATH_CHARS + "]"
UNICODE_MATH = r"[-+−]?" + _MATH_RUN + "*?[" + UNICODE_MATH_CHARS + r"](?:" + _MATH_RUN + r"|\.\d)*"
# Matrices: pmatrix, bmatrix, Bmatrix and matrix are one matrix whatever their brackets, and so
# is an array in parentheses or brackets; vmatrix and Vmatrix (a determinant, a norm) are not.
_MATRIX = re.compile(
    r"(?P<open>\\left\s*[(\[]\s*|[(\[]\s*)?\\begin\{(?P<env>[pbB]?matrix|array)\}(?:\{[lcr|\s]{0,64}\})?"
    r"(?P<body>(?:(?!\\(?:begin|end)\{).){0,4000}?)\\end\{(?P=env)\}(?P<close>\s*\\right\s*[)\]]|\s*[)\]])?", re.DOTALL)
# Equations joined by a conjunction, run together with their neighbours or not: `x=2andy=3`,
# `x=2\text{and}y=3`, `a=1 or b=2`; the conjunction stands between a value and `v=`.
_JOINED_EQUATIONS = re.compile(
    r"(?:(?<!\s)\s+)?(?:\\q?quad\s*)?"  # spacing before it (from the start of a run only: linear)
    r"(?:\\(?:text|mbox|textrm|mathrm)\{\s*(?:and|or)\s*\}|(?<=[\d})\]])(?:and|or)|(?<=\s)(?:and|or)(?=\s)"
    r"|\\(?:land|wedge|lor|vee)(?![A-Za-z]))\s*(?:\\q?quad\s*)?(?=[A-Za-z](?:_\{?\w{1,8}\}?)?\s*=)")

MATRIX_NOTE = "matrix brackets read as pmatrix"
EQUATIONS_NOTE = "equations joined by and/or read as a list"
SPACED_COMMA_NOTE = "a comma and a space between digits read as a list separator"


def without_thousands_separators(text: str) -> str:
    """`1,000.5` -> `1000.5`, and so each item of a list whose items a comma and a space
    separate (`1,000, 2,000` -> `1000, 2000`); anything else as it is (`1,22` stays a pair,
    `12, 345` a list of two)."""
    if "," not in text:
        return text
    return "".join(p.replace(",", "") if _THOUSANDS.fullmatch(p) else p for p in _LIST_COMMA.split(text))


def respelling_note(answer: str) -> str | None:
    """What the comparison reads in a stated answer beyond its plain LaTeX: a matrix in other
    brackets, equations joined by a conjunction, digit groups that a comma and a space make a
    list (`12, 345`, not the number 12345)."""
    return joined_notes(MATRIX_NOTE if as_pmatrix(answer) != answer else None,
                        EQUATIONS_NOTE if equations_as_list(answer) != answer else None,
                        SPACED_COMMA_NOTE if _SPACED_THOUSANDS.search(answer) else None)


def as_pmatrix(text: str) -> str:
    """Every matrix as a pmatrix (see _MATRIX); an array with no brackets around it, a
    vmatrix or a Vmatrix as it is."""
    if "\\begin" not in text:
        return text
    return _MATRIX.sub(_pmatrix, text)


def _pmatrix(m: re.Match) -> str:
    bracketed = m["open"] is not None and m["close"] is not None
    if m["env"] == "array" and not bracketed:
        return m.group()
    if m["env"] in ("array", "matrix") and bracketed:
        return f"\\begin{{pmatrix}}{m['body']}\\end{{pmatrix}}"
    return f"{m['open'] or ''}\\begin{{pmatrix}}{m['body']}\\end{{pmatrix}}{m['close'] or ''}"


def equations_as_list(text: str) -> str:
    """`x=2andy=3`, `x=2\\text{and}y=3`, `x=5 or x=-1` as lists: `x=2, y=3`, `x=5, x=-1`."""
    return text if text.count("=") < 2 else _JOINED_EQUATIONS.sub(", ", text)


def unicode_as_latex(text: str) -> str:
    """`¾` -> `\\frac{3}{4}`, `2¾` -> `2\\frac{3}{4}` (a mixed number, as LaTeX answers write it),
    `√3` -> `\\sqrt{3}`, `x²` -> `x^{2}`, `π` -> `\\pi`, `×` -> `\\times`."""
    if text.isascii():
        return text
    return _UNICODE.sub(_unicode_piece, text)


def _unicode_piece(m: re.Match) -> str:
    if m["vulgar"]:
        num, den = _VULGAR[m["vulgar"]].split("/")
        return f"{m['mixed'] or ''}\\frac{{{num}}}{{{den}}}"
    if m["root"]:
        inner = m["root"][1:-1] if m["root"][0] in "{(" else m["root"]
        return f"\\sqrt{{{inner}}}"
    if m["sup"]:
        return f"^{{{m['sup'].translate(_SUPERSCRIPTS)}}}"
    return _SYMBOLS[m["symbol"]]


def number_word_value(text: str) -> int | None:
    """The number a whole answer spells in English words ("twelve", "one hundred and five",
    "twenty-one"), else None."""
    if _WORD_ANSWER.fullmatch(text) is None:
        return None
    total, current, seen = 0, 0, False
    for word in re.split(r"[\s\-]+", text.lower().strip()):
        if word == "and" and seen:
            continue
        if word in _NUMBER_WORDS:
            current += _NUMBER_WORDS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred" and 0 < current < 10:
            current *= 100
        elif word == "thousand" and 0 < current < 1000:
            total, current = total + current * 1000, 0
        else:
            return None
        seen = True
    return total + current if seen else None


def respell(answer: str) -> str:
    """A stated answer in the LaTeX spelling the comparison reads (see the module's note)."""
    text = _PERCENT.sub(r"\\%", unicode_as_latex(answer).strip())
    text = without_thousands_separators(equations_as_list(as_pmatrix(text)))
    words = _WORDS_THEN_UNIT.fullmatch(text)
    word = None if words is None else number_word_value(words["number"])
    if word is not None:
        return str(word)
    mixed = _MIXED.fullmatch(text)
    if mixed is not None:
        whole, (num, den) = int(mixed[2]), map(int, mixed.group(3, 4) if mixed[3] else mixed.group(5, 6))
        if 0 < num < den:  # a proper fraction after a whole number: 3 1/4 is 13/4
            return f"{mixed[1]}\\frac{{{whole * den + num}}}{{{den}}}"
    return text
