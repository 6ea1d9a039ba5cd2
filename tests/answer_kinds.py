"""Answers by kind, written for the project (not from any held-out set): (response, gold,
expected verdict). Each kind has answers the scorers must take and near misses they must
refuse. Used by tests/test_answer_kinds.py."""

# Several boxes that together state the answer: read as one list, compared as a set.
SEVERAL_BOXES = [
    ("\\boxed{(1, 3)} and \\boxed{(3, 1)}", "(1,3),(3,1)", True),
    ("<think>x^2+3x-10=0</think>So $x = \\boxed{2} \\text{ or } \\boxed{-5}$.", "-5, 2", True),
    ("The solutions are $\\boxed{2}$ and $\\boxed{-5}$.", "-5, 2", True),
    ("$\\boxed{1}$, $\\boxed{2}$, and $\\boxed{3}$", "1, 2, 3", True),
    ("\\boxed{-1} \\quad \\boxed{4}", "4, -1", True),
    ("\\[\\boxed{3}\\] \\[\\boxed{7}\\]", "3, 7", True),
    ("So the answer is \\boxed{5}. Checking: yes, \\boxed{5}", "5", True),  # the same box twice is one answer
    ("\\boxed{2} or \\boxed{-5}", "2", False),  # half of the answer is not the answer
    ("\\boxed{(1, 3)} and \\boxed{(3, 2)}", "(1,3),(3,1)", False),
    ("First \\boxed{7}. Then we check the other case, which gives \\boxed{9}", "7, 9", False),  # not joined: the last one
    ("First \\boxed{7}. Then we check the other case, which gives \\boxed{9}", "9", True),
]

# Answers stated in a final sentence of prose.
PROSE = [
    ("Final Answer: The smallest $k$ is 17.", "17", True),
    ("... so the probability is 3/8.\n<|im_start|>user\nWhat is 2+2?", "\\frac{3}{8}", True),
    ("Final Answer: The area of $PQRS$ is 48.", "48", True),
    ("Adding the cases, the total number of paths is 252.", "252", True),
    ("Therefore the distance is 12 meters.", "12", True),
    ("Putting it together, the value of $x$ is $\\frac{5}{2}$.", "\\frac52", True),
    ("Hence the largest possible value is exactly 99 dollars.", "99", True),
    ("So the number of such integers is twelve.", "12", True),
    ("Adding up, the number Bob wrote is therefore 14.", "14", True),
    ("The answer: Bob ends with 14 coins.", "14", True),
    ("The correct option is **C**.", "\\text{(C)}", True),
    ("The correct option is **C**.", "\\text{(D)}", False),
    ("Final Answer: The smallest $k$ is 17.", "18", False),
    ("The area of $PQRS$ is 48, and its perimeter is 30.", "48", False),  # the last "is" states it
    ("Therefore the distance is 12 meters.", "13", False),
]

# Unicode characters and English number words.
UNICODE_AND_WORDS = [
    ("The answer is ¾.", "\\frac{3}{4}", True),
    ("\\boxed{√3}", "\\sqrt{3}", True),
    ("\\boxed{2√2}", "\\sqrt{8}", True),
    ("\\boxed{π/2}", "\\frac{\\pi}{2}", True),
    ("\\boxed{2π}", "2\\pi", True),
    ("\\boxed{x²+1}", "x^2+1", True),
    ("The answer is four.", "4", True),
    ("\\boxed{\\text{twelve}}", "12", True),
    ("There are one hundred and five of them.", "105", True),
    ("\\boxed{3 1/4}", "\\frac{13}{4}", True),
    ("\\boxed{2¾}", "\\frac{11}{4}", True),
    ("\\boxed{50%}", "50\\%", True),
    ("\\boxed{50%}", "\\frac{1}{2}", True),
    ("\\boxed{−7}", "-7", True),
    ("\\boxed{¼}", "\\frac{3}{4}", False),
    ("\\boxed{√2}", "\\sqrt{3}", False),
    ("The answer is five.", "4", False),
    ("\\boxed{3 1/4}", "\\frac{3}{4}", False),
    ("\\boxed{π}", "2\\pi", False),
]

# The same answer in another notation.
NOTATION = [
    ("\\boxed{\\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", True),
    ("\\boxed{\\text{(B)}}", "B", True),
    ("\\boxed{(B)}", "\\text{(B)}", True),
    ("\\boxed{B}", "\\text{(B)}", True),
    ("\\boxed{1,000.5}", "1000.5", True),
    ("\\boxed{12,345}", "12345", True),
    ("The total cost is $\\$41$.", "41", True),
    ("\\boxed{\\$41}", "41", True),
    ("\\boxed{41 \\text{ dollars}}", "41", True),
    ("The answer is $\\dfrac{7}{2}$ cm.", "\\frac72", True),
    ("\\boxed{\\begin{bmatrix} 1 \\\\ 3 \\end{bmatrix}}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", False),
    ("\\boxed{(C)}", "\\text{(B)}", False),
    ("\\boxed{1,000.5}", "100.5", False),
]

# The project's deliberate disagreement with math-verify: in English MATH answers a comma
# between digits separates thousands or list items, never decimals (README, "Scoring rules").
DECIMAL_COMMA = [
    ("\\boxed{1,22}", "1.22", False),
    ("The answer is 1,22.", "1.22", False),
    ("The answer is 3,5.", "3.5", False),
]
MATH_VERIFY_READS_A_DECIMAL_COMMA = [r for r in DECIMAL_COMMA if not r[0].startswith("\\boxed")]  # in prose only

# AIME integers inside decorated boxes (integer_match), and boxes that are not integers.
DECORATED_INTEGERS = [
    ("\\boxed{+041}", "41", True),
    ("\\boxed{41 \\text{ meters}}", "41", True),
    ("\\boxed{41\\text{ ways}}", "41", True),
    ("\\boxed{a+b=41}", "41", True),
    ("\\boxed{m + n = 41}", "41", True),
    ("\\boxed{\\$41}", "41", True),
    ("\\boxed{041}", "41", True),
    ("$\\boxed{41^\\circ}$", "41", True),
    ("\\boxed{41 \\text{ square units}}", "41", True),
    ("The answer is 41.<|im_end|>\n<|im_start|>user\nAnd 42?", "41", True),
    ("\\boxed{41.}", "41", True),
    ("\\boxed{\\displaystyle 41}", "41", True),
    ("\\boxed{\\underline{41}}", "41", True),
    ("\\boxed{41\\,\\text{cm}}", "41", True),
    ("The answer is forty-one.", "41", True),
    ("The answer is forty-two.", "41", False),
    ("\\boxed{41.5}", "41", False),
    ("\\boxed{41\\sqrt{2}}", "41", False),
    ("\\boxed{4.1 \\times 10}", "41", False),
    ("\\boxed{\\frac{82}{2}}", "41", False),
    ("\\boxed{a+b=42}", "41", False),
]

# Issue 29: the last kinds the scorers misread. Each table holds the kind's answers and the near
# misses that must stay wrong.

_P22 = "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}"
_COLUMN = "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}"

# A matrix in another bracket environment than the gold's: pmatrix, bmatrix, Bmatrix, matrix
# and an array in parentheses or brackets are one matrix; vmatrix is a determinant, not one.
MATRIX_BRACKETS = [
    ("\\boxed{\\begin{Bmatrix} 1 & 2 \\\\ 3 & 4 \\end{Bmatrix}}", _P22, True),
    ("\\boxed{\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}}", _P22, True),
    ("\\boxed{\\begin{matrix} 1 & 2 \\\\ 3 & 4 \\end{matrix}}", _P22, True),
    ("$\\boxed{\\left( \\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array} \\right)}$", _P22, True),
    ("\\boxed{\\left[\\begin{matrix} 1 & 2 \\\\ 3 & 4 \\end{matrix}\\right]}", _P22, True),
    ("The answer is $\\begin{Bmatrix} 0.2 \\\\ -3.6 \\end{Bmatrix}$.", _COLUMN, True),
    ("\\boxed{\\left[\\begin{array}{c} \\dfrac{1}{5} \\\\ -\\dfrac{18}{5} \\end{array}\\right]}", _COLUMN, True),
    ("\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}", "\\begin{Bmatrix} 1 & 2 \\\\ 3 & 4 \\end{Bmatrix}", True),
    ("\\boxed{\\begin{vmatrix} 1 & 2 \\\\ 3 & 4 \\end{vmatrix}}", _P22, False),  # a determinant: -2
    ("\\boxed{\\begin{Vmatrix} 1 & 2 \\\\ 3 & 4 \\end{Vmatrix}}", _P22, False),  # a norm
    ("\\boxed{\\begin{Bmatrix} 1 & 2 \\\\ 3 & 5 \\end{Bmatrix}}", _P22, False),
    ("\\boxed{\\begin{Bmatrix} 1 & 3 \\\\ 2 & 4 \\end{Bmatrix}}", _P22, False),  # transposed
    ("\\boxed{\\begin{bmatrix} 0.2 & -3.6 \\end{bmatrix}}", _COLUMN, False),  # a row, not a column
]

# A named constant in unicode (π, √, ∞) stated by a final sentence of prose.
UNICODE_IN_PROSE = [
    ("So the circumference is 2π.", "2\\pi", True),
    ("Thus the length of the diagonal is √3.", "\\sqrt{3}", True),
    ("Therefore the limit is ∞.", "\\infty", True),
    ("So the area of the circle is 4π square units.", "4\\pi", True),
    ("Hence the angle is π/3 radians.", "\\frac{\\pi}{3}", True),
    ("Hence the golden ratio is (1+√5)/2.", "\\frac{1+\\sqrt{5}}{2}", True),
    ("Adding the two parts, the volume of the solid is 36π cm³.", "36\\pi", True),
    ("<think>area 2π or 4π?</think>Each term is negative, so the infimum is −∞ here.", "-\\infty", True),
    ("So the sum of the series equals 3√2.", "3\\sqrt{2}", True),
    ("So the circumference is 2π.", "4\\pi", False),
    ("Thus the length of the diagonal is √3.", "\\sqrt{2}", False),
    ("Therefore the limit is ∞.", "-\\infty", False),
]

# A multiple-choice letter stated in prose.
OPTION_LETTERS = [
    ("The correct option is (B).", "\\text{(B)}", True),
    ("The answer is option C", "\\text{(C)}", True),
    ("The correct answer is choice (D).", "\\text{(D)}", True),
    ("Checking each one, option B is correct.", "\\text{(B)}", True),
    ("Comparing all five, the right choice is E.", "\\text{(E)}", True),
    ("A quick check shows the correct option is (D).", "\\text{(D)}", True),  # "A" is an article
    ("The answer is option (C), since the other four fail.", "\\text{(C)}", True),
    ("Hence the correct option is **(A)**.", "\\text{(A)}", True),
    ("The correct option is (B).", "\\text{(C)}", False),
    ("The answer is option C", "\\text{(B)}", False),
    ("Option (A) fails, while option (B) holds.", "\\text{(A)}", False),  # two letters: none read
]

# An answer in several boxes joined by prose: part labels, or equations each boxing one side.
PROSE_JOINED_BOXES = [
    ("\\boxed{3} for part (a) and \\boxed{5} for part (b)", "3, 5", True),
    ("Part (a): $\\boxed{3}$. Part (b): $\\boxed{5}$.", "3, 5", True),
    ("(a) \\boxed{12}; (b) \\boxed{7}", "12, 7", True),
    ("The answer to part (a) is \\boxed{3} and to part (b) is \\boxed{5}.", "3, 5", True),
    ("x = \\boxed{2}, y = \\boxed{3}", "2, 3", True),
    ("So $x = \\boxed{2}$ and $y = \\boxed{3}$.", "x=2, y=3", True),
    ("$a_1 = \\boxed{-1}$, $a_2 = \\boxed{4}$", "-1, 4", True),
    ("\\boxed{3} for part (a) and \\boxed{5} for part (b)", "5", False),  # half of the answer
    ("x = \\boxed{2}, y = \\boxed{3}", "2, 4", False),
    ("We get $a = \\boxed{2}$, so $a + b = \\boxed{5}$.", "5", True),  # a result from a result: the last
    ("x = \\boxed{2}. Then the other case gives y = \\boxed{3}", "3", True),  # prose, no label: the last
]

# A box broken by stray `$` signs, then a "Final Answer" sentence that states the whole answer.
BROKEN_BOXES = [
    ("\\boxed{$x = 2$, $y=3$}\n\nFinal Answer: The final answer is $x = 2$, $y = 3$.", "x=2, y=3", True),
    ("$\\boxed{1, 2$}$\n\nFinal Answer: The final answer is $1$, $2$.", "1, 2", True),
    ("$\\boxed{-1$, $3}$\n\n**Final Answer**\nThe solutions are $-1$ and $3$.", "-1, 3", True),
    ("The roots are $\\boxed{-1$, $3}$.\nFinal Answer: The roots are $-1$ and $3$.", "-1, 3", True),
    ("\\boxed{$x = 2$, $y=3$}", "x=2, y=3", True),
    ("$\\boxed{1$}$, $\\boxed{2$}$", "1, 2", True),
    ("\\boxed{$2$\\sqrt{3}$}", "2\\sqrt{3}", True),  # a `$` inside one expression: dropped
    ("\\boxed{$x = 2$, $y=3$}\n\nFinal Answer: The final answer is $x = 2$, $y = 3$.", "3", False),
    ("$\\boxed{1, 2$}$\n\nFinal Answer: The final answer is $1$, $2$.", "2", False),
    ("$\\boxed{-1$, $3}$\n\n**Final Answer**\nThe solutions are $-1$ and $3$.", "3", False),
]

# Equations joined by a conjunction run together with its neighbours.
RUN_TOGETHER = [
    ("\\boxed{x=2andy=3}", "x=2, y=3", True),
    ("\\boxed{x=2\\text{and}y=3}", "x=2, y=3", True),
    ("\\boxed{x=2andy=3}", "2, 3", True),
    ("\\boxed{a=\\frac{1}{2}andb=-4}", "a=\\frac12, b=-4", True),
    ("The answer is $x=5\\text{or}x=-1$.", "5, -1", True),
    ("\\boxed{x=2\\quad\\text{and}\\quad y=3}", "x=2, y=3", True),
    ("\\boxed{x=2andy=4}", "x=2, y=3", False),
    ("\\boxed{x=2andy=3}", "x=3, y=2", False),
]

# A comma and a space between digit groups separate list items; only `12,345` is one number.
SPACED_COMMA = [
    ("\\boxed{12, 345}", "12345", False),
    ("\\boxed{12, 345}", "12, 345", True),
    ("\\boxed{12, 345}", "345, 12", True),
    ("\\boxed{12,345}", "12345", True),
    ("The answer is 58, 500.", "58,500", False),
    ("\\boxed{1,000, 2,000}", "1000, 2000", True),
    ("\\boxed{3, 5, 7}", "3, 5, 7", True),
]
