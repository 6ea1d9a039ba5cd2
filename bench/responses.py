"""Seeded synthetic model responses in Qwen3's thinking format, for benchmarks.

Each response: `<think>` reasoning of a realistic length (log-normal; MATH-500
median ~12K characters, AIME ~40K, as Qwen3-32B's thinking runs 3-12K tokens),
full of numbers, fractions, boxed guesses and self-corrections, then
`</think>`, a short solution and a final answer in one of the usual spellings.
About 70% state the gold answer (in some spelling), 25% a wrong one, and 5%
are cut off mid-thinking, as truncated generations are.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

THINK_MEDIAN_CHARS = {"math": 12_000, "aime": 40_000}
MAX_THINK_CHARS = 130_000  # ~38K tokens, the full profile's AIME budget


@dataclass(frozen=True)
class Response:
    item: int
    gold: str
    text: str
    states_gold: bool


def _sentences(rng: random.Random, n: int = 3000) -> list[str]:
    templates = [
        "Let me compute {a} \\times {b} = {c}.",
        "So $\\frac{{{a}}}{{{b}}}$ can be simplified further.",
        "Wait, that's not right. Let me recheck the previous step.",
        "Hmm, maybe the answer is {a}? No, let me verify that.",
        "We have $x^2 - {a}x + {b} = 0$, so by Vieta's formulas $x_1 + x_2 = {a}$.",
        "If I plug in $n = {a}$, then $2^n \\bmod {b}$ gives {c}.",
        "Then the area is $\\frac{{1}}{{2}} \\cdot {a} \\cdot {b} = {c}$.",
        "So tentatively $\\boxed{{{a}}}$, but I should double-check.",
        "Alternatively, consider the case where $a_{{{a}}} = {b}$.",
        "Counting: there are $\\binom{{{a}}}{{2}} = {c}$ pairs.",
        "Actually, I think I made a mistake; it should be {b}, not {a}.",
        "Therefore $\\sqrt{{{c}}}$ is not an integer unless {a} divides {b}.",
        "Let's set up coordinates: $A = ({a}, {b})$ and $B = (0, {c})$.",
        "The total is {a} + {b} = {c}, which matches.",
    ]
    out = []
    for _ in range(n):
        a, b = rng.randint(1, 999), rng.randint(1, 999)
        out.append(rng.choice(templates).format(a=a, b=b, c=a * b if rng.random() < 0.5 else a + b))
    return out


def _thinking(rng: random.Random, pool: list[str], median: int) -> str:
    target = min(MAX_THINK_CHARS, int(math.exp(rng.gauss(math.log(median), 0.6))))
    parts, size = [], 0
    while size < target:
        sentence = rng.choice(pool)
        parts.append(sentence)
        size += len(sentence) + 1
    return " ".join(parts)


def _spelling(rng: random.Random, answer: str, kind: str) -> str:
    """The answer as a model might write it."""
    if kind == "aime":
        return rng.choice([answer, answer, answer, answer.zfill(3), f"\\textbf{{{answer}}}"])
    # A comma and a space separate a list's items; a comma between digits alone groups thousands
    # ("58,500" is one number, "58, 500" two): only a list's commas get the space.
    spaced = re.sub(r",(?!\s)(?!\\!?[0-9])(?![0-9]{3}(?![0-9]))", ", ", answer)
    variants = [answer, answer.replace("\\frac", "\\dfrac"), spaced, answer.replace(" ", "")]
    return rng.choice(variants)


def _statement(rng: random.Random, answer: str) -> str:
    roll = rng.random()
    if roll < 0.85:
        return f"Therefore, the final answer is $\\boxed{{{answer}}}$."
    if roll < 0.95:
        return f"**Answer:** ${answer}$"
    return f"The answer is ${answer}$."


def _wrong(rng: random.Random, gold: str, golds: list[str], kind: str) -> str:
    if kind == "aime" or (gold.isdigit() and rng.random() < 0.5):
        return str(int(gold) + rng.choice([-1, 1, 10])) if gold.isdigit() else gold + "+1"
    other = rng.choice(golds)
    return other if other != gold else gold + "+1"


def generate(golds: list[str], samples: int, kind: str, seed: int = 0) -> list[Response]:
    """`samples` responses for each gold answer; kind "math" or "aime" sets the thinking length."""
    rng = random.Random(seed)
    pool = _sentences(rng)
    out = []
    for item, gold in enumerate(golds):
        for _ in range(samples):
            thinking = _thinking(rng, pool, THINK_MEDIAN_CHARS[kind])
            roll = rng.random()
            if roll < 0.05:  # cut off by max_gen_toks mid-thinking
                out.append(Response(item, gold, "<think>\n" + thinking, False))
                continue
            states_gold = roll < 0.75
            answer = _spelling(rng, gold, kind) if states_gold else _wrong(rng, gold, golds, kind)
            summary = " ".join(rng.choice(pool) for _ in range(rng.randint(2, 6)))
            text = f"<think>\n{thinking}\n</think>\n\n{summary}\n\n{_statement(rng, answer)}"
            out.append(Response(item, gold, text, states_gold))
    return out
