"""What the tiny model is taught to answer: per item and mode (a unit), its options and how
often it takes each under the profile's sampling.

Rates: a latent difficulty per item, shared by its modes, plus a part per mode, through a
normal CDF: some items are always right, some never, the rest spread between; the mean per
task kind and thinking style roughly Qwen3-32B's shape (thinking far above non-thinking on
AIME; MATH500 high in both).

What an option says is a rule the model learns once, so that per unit it memorises only how
often it takes each option (the branch: the first token where the options differ) and one
tag, and per tag its answer:
- non-thinking: a box for the gold; an answer phrase, "Answer:" or a bare number for a
  wrong answer (int_only: bare integers);
- thinking: `<think>`, the unit's tag (a token of its own, recalled from the prompt right
  after it), an opener word (the branch), a count down from the opener's length to 1 with
  the tag after each number (each number follows from the one two tokens back, each tag is
  the one two tokens back, the count ends where it reaches 1), `</think>`, and the answer in
  the mode's format: the gold after a "sure" opener (read from the tag, two tokens back), the
  opener's own wrong answer after an "unsure" one. Lengths vary with a heavy tail, and the
  longest counts run past every thinking budget: such a response is cut off, without an
  answer, right or wrong as it was heading. A 2-layer model learns these rules in minutes;
  it did not learn to copy an answer from far back in the response, nor to recall the gold
  far from the prompt, nor to find an opener three tokens back (each was tried).
"""

from __future__ import annotations

import math
import random
import statistics
from typing import NamedTuple

from evals.config.matrix import REFERENCE_PRECISION, Matrix
from evals.config.paths import TASKS_DIR

SEED = 20251224
PROFILE = "tiny"  # whose items, modes and sampling the model is taught

MEAN_RATE = {("aime", True): 0.7, ("aime", False): 0.3, ("math", True): 0.88, ("math", False): 0.75}
SPREAD, MODE_SPREAD = 1.6, 0.5  # probit scale: the items' latent spread, and each mode's own part
RATE_FLOOR = 0.003
WRONG_SHARES = (0.55, 0.3, 0.15)  # of the wrong answers' share: several distinct wrong answers
RIGHT_SHARES = (0.65, 0.35)  # of the right answers' share (thinking): two traces of different lengths
RUN_OUT = 0.12  # of the wrong share (thinking): a trace heading for the gold that runs out of tokens

# Openers (words no problem text holds, so the model's attention finds them): their count's length.
SURE = {"Okay": 1, "So": 3, "Yes": 5, "Now": 8, "Right": 14, "Sure": 20}
RUNS_OUT = {"Alright": 60}  # a sure opener whose count outruns every thinking budget
UNSURE = {"Hmm": (2, "7"), "Ah": (4, "12"), "Oh": (7, "5"), "Maybe": (11, "100"), "Perhaps": (18, "64"),
          "Well": (27, "2"), "Wait": (60, "36")}  # opener: (length, its wrong answer)
OPENERS = {**SURE, **RUNS_OUT, **{word: length for word, (length, _) in UNSURE.items()}}
NON_THINKING_WRONG = {"phrase": ("12", "13"), "colon": ("5", "6"), "bare": ("100", "101")}  # the second if the first is the gold
INT_WRONG = ("7", "12", "5", "100", "64", "2", "36", "0")
TAG = "#{:03d}"  # a thinking unit's tag: one token each (train.py adds them to the vocabulary); ASCII, which the byte-level decoder keeps


class Unit(NamedTuple):
    """An item in one mode, with what the model is taught to answer: each option's text and
    the share of samples it is taught to take (`weights`, under the mode's temperature),
    and whether it states the gold (`correct`; a trace that runs out never gets to say it)."""

    id: str  # task/item
    task: str
    kind: str  # the task's kind (scorers/metrics.toml)
    mode: str
    messages: list
    enable_thinking: bool
    gold: str
    options: tuple[str, ...]
    correct: tuple[bool, ...]
    shares: tuple[float, ...]  # of samples, as sampled at the mode's temperature (before top-p/top-k)
    weights: tuple[float, ...]  # the distribution taught at the branch (at temperature 1)
    temperature: float
    max_tokens: int  # the mode's max_gen_toks in the profile


def units(matrix: Matrix) -> list[Unit]:
    """Every item of the profile in every mode of its task, with the prompt lm-eval renders."""
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    rng = random.Random(SEED)
    gauss = random.Random(SEED + 1)
    out: list[Unit] = []
    tags = 0
    reference = [c for c in matrix.cases(PROFILE) if c.precision == REFERENCE_PRECISION]
    normal = statistics.NormalDist()
    for task_name in sorted({c.task.name for c in reference}):
        task = matrix.tasks[task_name]
        lm_task = manager.load([task.lm_eval_task])["tasks"][task.lm_eval_task]
        docs = list(lm_task.test_docs())[: matrix.profiles[PROFILE]["limits"][task_name]]
        difficulty = {doc["id"]: gauss.gauss(0, 1) for doc in docs}
        for case in (c for c in reference if c.task.name == task_name):
            mode = case.mode
            shift = normal.inv_cdf(MEAN_RATE[(task.kind, mode.enable_thinking)]) * math.sqrt(1 + SPREAD**2 + MODE_SPREAD**2)
            temperature = case.generation.get("temperature", 0.0) or 1.0
            for doc in docs:
                z = shift + SPREAD * difficulty[doc["id"]] + MODE_SPREAD * gauss.gauss(0, 1)
                rate = min(1 - RATE_FLOOR, max(RATE_FLOOR, normal.cdf(z)))
                tag = None
                if mode.enable_thinking:
                    tags += 1
                    tag = TAG.format(tags)
                options = _options(mode.name, mode.enable_thinking, doc["answer"], tag, rng)
                shares = _shares(rate, mode.enable_thinking)
                weights = [s**temperature for s in shares]  # sampled at T, w**(1/T) gives back the shares
                out.append(Unit(
                    id=f"{task_name}/{doc['id']}", task=task_name, kind=task.kind, mode=mode.name,
                    messages=[{"role": "system", "content": mode.system}, {"role": "user", "content": lm_task.doc_to_text(doc)}],
                    enable_thinking=mode.enable_thinking, gold=doc["answer"],
                    options=tuple(text for text, _ in options), correct=tuple(right for _, right in options),
                    shares=tuple(shares), weights=tuple(w / sum(weights) for w in weights), temperature=temperature,
                    max_tokens=case.generation["max_gen_toks"],
                ))
    return out


def tags(examples: list[Unit]) -> list[str]:
    """Every thinking unit's tag, in order."""
    return [TAG.format(n) for n in range(1, 1 + sum(u.enable_thinking for u in examples))]


def _shares(rate: float, thinking: bool) -> list[float]:
    """Each option's share of samples, in `_options`' order."""
    wrong = [(1 - rate) * s for s in WRONG_SHARES]
    if not thinking:
        return [rate, *wrong]
    return [rate * s for s in RIGHT_SHARES] + [(1 - rate) * RUN_OUT] + [w * (1 - RUN_OUT) for w in wrong]


def _options(mode: str, thinking: bool, gold: str, tag: str | None, rng: random.Random) -> list[tuple[str, bool]]:
    """The unit's options (text, states the gold), in `_shares`' order, in the mode's format."""
    if thinking:
        sure = rng.sample(sorted(SURE), len(RIGHT_SHARES))
        unsure = [w for w in rng.sample(sorted(UNSURE), len(UNSURE)) if not _same(UNSURE[w][1], gold)][: len(WRONG_SHARES)]
        answers = [(w, gold, True) for w in (*sure, *RUNS_OUT)] + [(w, UNSURE[w][1], False) for w in unsure]
        style = "bare" if mode == "think_final" else "box"
        return [(f"<think>\n{tag} {word} {_count(OPENERS[word], tag)}.\n</think>\n\n{_formatted(answer, style)}", right)
                for word, answer, right in answers]
    if mode == "int_only":
        wrong = [v for v in rng.sample(INT_WRONG, len(INT_WRONG)) if not _same(v, gold) and v[0] != gold[:1]]
        return [(gold, True)] + [(v, False) for v in wrong[: len(WRONG_SHARES)]]
    wrong = {style: next(v for v in values if not _same(v, gold)) for style, values in NON_THINKING_WRONG.items()}
    return [(_formatted(gold, "box"), True)] + [(_formatted(v, style), False) for style, v in wrong.items()]


def _count(length: int, tag: str) -> str:
    return " ".join(f"{n}{tag}" for n in range(length, 0, -1))


def _same(value: str, gold: str) -> bool:
    return value.strip() == gold.strip()


def _formatted(answer: str, style: str) -> str:
    return {"box": f"$\\boxed{{{answer}}}$", "phrase": f"The answer is ${answer}$.", "colon": f"Answer: {answer}",
            "bare": answer}[style]


def realized_rate(unit: Unit, top_p: float, top_k: int | None, truncated: tuple[bool, ...]) -> float:
    """The share of samples judged right once the sampler keeps only the nucleus (top-p, top-k)
    of the branch and the server cuts responses at the budget (`truncated`, per option)."""
    order = sorted(range(len(unit.shares)), key=lambda i: -unit.shares[i])[: top_k or None]
    kept, total = [], 0.0
    for i in order:
        if total >= top_p:
            break
        kept.append(i)
        total += unit.shares[i]
    right = sum(unit.shares[i] for i in kept if unit.correct[i] and not truncated[i])
    return right / total
