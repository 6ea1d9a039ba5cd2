"""The tiny model as taught (evals/engine/tiny/units.py): what today's config describes is what
was trained and committed, and it is shaped like a sampled LLM's answers. What the trained
model really does on the engine is checked on the kept run (tests/test_sampled_shape.py)."""

import collections
import statistics

import pytest

from evals.config.matrix import load_matrix
from evals.engine.tiny import build, train, units


@pytest.fixture(scope="module")
def taught():
    matrix = load_matrix()
    examples = units.units(matrix)
    tokenizer = train.make_tokenizer(matrix, examples)
    generation = {(c.task.name, c.mode.name): c.generation for c in matrix.cases(units.PROFILE)}
    return matrix, examples, tokenizer, generation


def test_the_committed_model_is_the_one_todays_config_describes(taught):
    matrix, examples, _, _ = taught
    assert build.committed_key() == train.inputs_key(examples), (
        "the committed tiny model (evals/engine/tiny/model/) was trained from other prompts, items, modes or training "
        "code than today's: retrain it with `python -m evals.engine.tiny.train` (about ten minutes) and commit it, "
        "then remake the tiny baselines (pytest evals --snapshot-update)")


def test_solve_rates_spread_over_0_to_1_like_qwen3s(taught):
    _, examples, tokenizer, generation = taught
    rates = collections.defaultdict(list)
    for unit in examples:
        settings = generation[(unit.task, unit.mode)]
        rate = units.realized_rate(unit, settings.get("top_p", 1.0), settings.get("top_k"), train.truncated(tokenizer, unit))
        rates[(unit.kind, unit.enable_thinking)].append(rate)
    for (kind, thinking), values in rates.items():
        mean = statistics.fmean(values)
        assert abs(mean - units.MEAN_RATE[(kind, thinking)]) < 0.12, (kind, thinking, mean)
        near_0, near_1 = sum(r < 0.05 for r in values), sum(r > 0.95 for r in values)
        middle = sum(0.1 < r < 0.9 for r in values)
        assert middle >= 0.25 * len(values), (kind, thinking, middle, len(values))
        if kind == "aime":  # MATH500 thinking is nearly always right, as Qwen3-32B's (97%)
            assert near_0 and near_1, (kind, thinking, near_0, near_1)
    assert statistics.fmean(rates[("aime", True)]) > statistics.fmean(rates[("aime", False)]) + 0.25


def test_several_wrong_answers_runs_out_of_tokens_and_the_scorers_formats(taught):
    _, examples, tokenizer, _ = taught
    train.check_options(tokenizer, examples)  # each option judged as taught (right only for the gold, if not cut off)
    for unit in examples:
        wrong = {text.rsplit("\n", 1)[-1] for text, right in zip(unit.options, unit.correct) if not right}
        assert len(wrong) >= 3, unit
        assert len(set(unit.options)) == len(unit.options) and train.branch_at(tokenizer, unit) >= 0
    cut = collections.Counter(unit.mode for unit in examples if any(train.truncated(tokenizer, unit)))
    thinking = collections.Counter(unit.mode for unit in examples if unit.enable_thinking)
    assert cut == thinking  # every thinking unit can run out of tokens; no other can
    endings = {text.rsplit("\n", 1)[-1].split(" ")[0] for unit in examples for text in unit.options}
    assert {"$\\boxed{7}$", "The", "Answer:", "7"} <= endings  # box, answer phrase, "Answer:", bare integer
    lengths = sorted(len(train._ids(tokenizer, text)) for unit in examples if unit.enable_thinking for text in unit.options)
    assert lengths[len(lengths) // 2] * 2.5 < lengths[-1]  # a heavy tail


def test_the_branch_is_taught_at_the_temperature_it_is_sampled_at(taught):
    _, examples, _, generation = taught
    for unit in examples[:: 37]:
        temperature = generation[(unit.task, unit.mode)]["temperature"]
        sampled = [w ** (1 / temperature) for w in unit.weights]
        assert [round(s / sum(sampled), 9) for s in sampled] == [round(s / sum(unit.shares), 9) for s in unit.shares]
