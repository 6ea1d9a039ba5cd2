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
