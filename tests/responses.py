"""Real output formats seen from Qwen3 and lm-eval runs, shared by the table tests."""

# Responses whose only answer is inside unterminated or prompt-opened thinking:
# strip_think finds nothing there.
THINKING_ONLY = {"<think>\nThe answer should be 204 minutes", "<think>\nhmm 12</think>"}

# (response, gold, expected integer_match verdict under prefer_final and raw) for AIME answers.
AIME_RESPONSES = [
    ("33", "33", True),
    ("The answer is 33.", "33", True),
    ("The answer is $33$.", "33", True),
    ("Answer: 033", "33", True),
    ("**Answer:** 33", "33", True),
    ("$\\boxed{33}$", "33", True),
    ("Thus the answer is \\boxed{033}.", "33", True),
    ("\\boxed{33.0}", "33", True),
    ("So we get $\\boxed{\\textbf{33}}$", "33", True),
    ("\\fbox{204}", "204", True),
    ("The final answer is $\\boxed 25$.", "25", True),
    ("<think>\nLet me compute 12 + 21 = 33. Or maybe 34?\n</think>\n\nThe answer is $\\boxed{33}$.", "33", True),
    ("Okay, so 5 * 7 = 35.\n</think>\n\n**33**", "33", True),
    ("<think>\nIt is 40. </think>\n33", "33", True),
    ("<think>\nThe answer should be 204 minutes", "204", True),
    ("<think>\nhmm 12</think>", "12", True),
    ("We have $\\frac{1}{2}$ so the answer is $\\boxed{\\frac{1}{2}}$", "1", False),
    ("The answer is not 33; it is 34.", "34", True),
    ("The answer is 34, not 33.", "34", True),
    ("Answer: 33. Wait, actually I made a mistake: it is 34.", "34", True),
    ("First guess 5, then \\boxed{7}, finally \\boxed{9}", "9", True),
    ("The number of ways is 1,000 minus 1, so 999.", "999", True),
    ("There are $x-5$ left; with x = 20 we get 15", "15", True),
    ("The area is 2024 square units, giving m+n = 113", "113", True),
    ("Question: what is 2+2?\nAnswer: 4", "4", True),
    ("I think it is 0.", "0", True),
    ("$\\boxed{\\text{(A) }12}$", "12", False),
    ("The answer is -5", "0", False),
    ("", "0", False),
    ("I cannot determine the answer.", "1", False),
]

# (response, gold, expected math_equiv verdict) for MATH-500 answer categories.
MATH_RESPONSES = [
    # fractions and decimals
    ("The answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}", True),
    ("$\\boxed{\\dfrac{1}{2}}$", "\\frac{1}{2}", True),
    ("\\boxed{0.5}", "\\frac12", True),
    ("\\boxed{1/2}", "\\frac{1}{2}", True),
    ("\\boxed{\\frac{2}{4}}", "\\frac{1}{2}", True),
    ("\\boxed{\\frac{1}{3}}", "\\frac{1}{2}", False),
    ("\\boxed{2000}", "2000", True),
    ("\\boxed{2,000}", "2000", True),
    # intervals
    ("\\boxed{[-2, 7]}", "x \\in [-2,7]", True),
    ("\\boxed{(-2, 7]}", "x \\in [-2,7]", False),
    ("\\boxed{(-\\infty, 3) \\cup (5, \\infty)}", "(-\\infty,3)\\cup(5,\\infty)", True),
    # sets and tuples
    ("\\boxed{\\{1, 2, 3\\}}", "\\{3,2,1\\}", True),
    ("\\boxed{1, 2, 3}", "1,2,3", True),
    ("\\boxed{(1, 2)}", "(1,2)", True),
    ("\\boxed{(2, 1)}", "(1,2)", False),
    # matrices
    ("$\\boxed{\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}}$", "\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", True),
    ("$\\boxed{\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}}$", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", True),
    ("$\\boxed{\\begin{pmatrix} 7 \\\\ 16 \\\\ 5 \\end{pmatrix}}$", "\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", False),
    # degrees and percent
    ("\\boxed{30}", "30^\\circ", True),
    ("\\boxed{30^{\\circ}}", "30^\\circ", True),
    ("\\boxed{30°}", "30^\\circ", True),
    ("\\boxed{60^\\circ}", "30^\\circ", False),
    ("\\boxed{50\\%}", "50", True),
    # x = 5 against 5
    ("\\boxed{x=5}", "5", True),
    ("\\boxed{5}", "x=5", True),
    ("\\boxed{y = 2x+3}", "y = 2x + 3", True),
    # radicals and expressions
    ("\\boxed{2\\sqrt{2}}", "\\sqrt{8}", True),
    ("\\boxed{\\sqrt{2}}", "\\sqrt{8}", False),
    ("\\boxed{\\frac{\\pi^2}{8}}", "\\frac{\\pi^2}{8}", True),
    # text and multiple choice
    ("\\boxed{\\text{Evelyn}}", "\\text{Evelyn}", True),
    ("The answer is Evelyn.", "\\text{Evelyn}", True),
    ("\\boxed{\\text{Navin}}", "\\text{Evelyn}", False),
    ("\\boxed{C}", "\\text{(C)}", True),
    ("\\boxed{(C)}", "\\text{(C)}", True),
    ("\\boxed{\\textbf{(C)}}", "\\text{(C)}", True),
    ("\\boxed{B}", "\\text{(C)}", False),
    ("\\boxed{\\text{even}}", "\\text{even}", True),
    ("\\boxed{\\text{odd}}", "\\text{even}", False),
    # units
    ("\\boxed{5.4}", "5.4 \\text{ cents}", True),
    ("\\boxed{\\frac{270}{7}}", "\\frac{270}7\\text{ degrees}", True),
    # thinking and answer phrases
    ("<think>maybe \\boxed{4}</think>The final answer is $\\boxed{3}$", "3", True),
    ("<think>maybe \\boxed{4}</think>The final answer is $\\boxed{3}$", "4", False),
    ("Let me think... </think>\n\nFinal answer: $\\frac{3}{4}$", "\\frac34", True),
    ("So the result is $x = \\frac{3}{4}$", "\\frac34", True),
    ("<think>long reasoning that never ends 3/4", "\\frac34", False),
    ("no answer here at all, sorry, this is too long to count as one and has no math in it whatsoever", "1", False),
]
