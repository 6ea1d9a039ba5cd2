"""The drift arithmetic (evals/drift/): per-token KL over shared top-k with a tail bucket,
its statistics over responses, and the test against a baseline."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.drift import gate, stats
from evals.drift.sequences import DriftError
from evals.drift.tokens import TokenDrift, compare_position, compare_sequence


def logprobs(probs: dict[int, float]) -> dict[int, float]:
    return {t: math.log(p) for t, p in probs.items()}


def full_kl(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum(p * (np.log(p) - np.log(q))))


def test_identical_distributions_do_not_drift():
    row = logprobs({1: 0.7, 2: 0.2, 3: 0.1})
    assert compare_position(row, row, 2) == TokenDrift(0.0, True, 0.0)


def test_exact_when_top_k_covers_the_mass():
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.5, 0.3, 0.2])
    drift = compare_position(logprobs(dict(enumerate(p))), logprobs(dict(enumerate(q))), 0)
    assert drift.kld == pytest.approx(full_kl(p, q))
    assert drift.top1_agrees and drift.delta_logprob == pytest.approx(math.log(0.5) - math.log(0.7))


@given(st.lists(st.floats(0.01, 1.0), min_size=4, max_size=30), st.lists(st.floats(0.01, 1.0), min_size=4, max_size=30),
       st.integers(1, 20))
def test_top_k_with_a_tail_bucket_never_overstates_the_full_kl(p_raw, q_raw, k):
    n = min(len(p_raw), len(q_raw))
    p, q = np.array(p_raw[:n]) / sum(p_raw[:n]), np.array(q_raw[:n]) / sum(q_raw[:n])
    top = lambda d: {int(t): math.log(d[t]) for t in np.argsort(-d)[:k]}  # noqa: E731 - what a server reports
    ref, cand = top(p), top(q)
    actual = next(iter(ref))  # both servers always report the token that follows, as here
    cand.setdefault(actual, math.log(q[actual]))
    drift = compare_position(ref, cand, actual)
    assert 0.0 <= drift.kld <= full_kl(p, q) + 1e-9  # a coarser partition: the data-processing inequality


def test_a_sequence_is_compared_from_its_response_on():
    row = logprobs({5: 0.6, 6: 0.4})
    other = logprobs({5: 0.4, 6: 0.6})
    drifts = compare_sequence([None, row, row, row], [None, row, other, other], [9, 5, 5, 6], start=2)
    assert len(drifts) == 2 and drifts[0].kld > 0 and not drifts[0].top1_agrees
    with pytest.raises(ValueError, match="cover 4 and 3 positions"):
        compare_sequence([None, row, row, row], [None, row, row], [9, 5, 5, 6], start=2)
    with pytest.raises(ValueError, match="position 3: no log-probability of token 7"):
        compare_sequence([None, row, row, row], [None, row, row, row], [9, 5, 5, 7], start=2)


def responses(rng, n, scale):
    return [[TokenDrift(float(rng.exponential(scale)), bool(rng.random() < 0.98), float(rng.normal(0, scale)))
             for _ in range(int(rng.integers(5, 60)))] for _ in range(n)]


def test_intervals_resample_whole_responses_and_contain_the_mean():
    summary = stats.summarize(stats.Sequences.of(responses(np.random.default_rng(0), 40, 0.01)))
    for name in ("mean_kld", "top1_agreement", "mean_abs_delta_logprob"):
        low, high = summary[name]["interval"]
        assert low < summary[name]["value"] < high
    assert summary["p999_kld"] >= summary["p99_kld"] > summary["mean_kld"]["value"]
    assert stats.summarize(stats.Sequences.of([[], []])) == {"responses": 0, "tokens": 0}


def drift_record(scale: float, seed: int = 0, n: int = 40, fingerprint=None) -> dict:
    drifts = responses(np.random.default_rng(seed), n, scale)
    return {"precision": "fp8", "reference": "bf16", "fingerprint": fingerprint or {"engine": "vllm"},
            "settings": {"margin": 0.5, "floor": 1e-5, "confidence": 0.99},
            "summary": {"all": stats.summarize(stats.Sequences.of(drifts))},
            "sequences": {f"c/{i}": [sum(t.kld for t in d), len(d)] for i, d in enumerate(drifts)}, "moved_most": []}


def test_the_same_drift_passes_and_twice_the_drift_fails():
    baseline = drift_record(0.001)
    assert gate.judge(drift_record(0.001), baseline).passed
    result = gate.judge(drift_record(0.002), baseline)
    assert not result.passed and result.excess_lower > 0 and result.mean > result.threshold
    assert "beyond the baseline" in result.lines(drift_record(0.002))[0]


def test_another_fingerprint_or_no_shared_response_is_not_comparable():
    baseline = drift_record(0.001)
    assert gate.judge(drift_record(0.001, fingerprint={"engine": "other"}), baseline).differing == ["engine"]
    narrowed = drift_record(0.001)
    narrowed["sequences"] = {"x/1": [0.1, 10]}
    assert not gate.judge(narrowed, baseline).passed


def test_a_narrowed_run_is_compared_on_the_responses_it_shares_with_the_baseline():
    baseline, current = drift_record(0.001), drift_record(0.001)
    current["sequences"] = dict(list(current["sequences"].items())[:10])
    result = gate.judge(current, baseline)
    shared = [baseline["sequences"][k] for k in current["sequences"]]
    assert result.baseline_mean == pytest.approx(sum(s for s, _ in shared) / sum(n for _, n in shared))
    assert result.passed


def test_under_no_change_the_test_rarely_fails():
    """Runs drawn from the same drift as their baseline (independent draws for both, responses
    of varied length and drift): false alarms at most about 1 - confidence, with margin 0."""
    fails = 0
    for seed in range(200):
        baseline, run = drift_record(0.001, seed=2 * seed), drift_record(0.001, seed=2 * seed + 1)
        run["settings"] = {"margin": 0.0, "floor": 0.0, "confidence": 0.99}
        fails += not gate.judge(run, baseline).passed
    assert fails <= 6  # 1% expected of 200: 2; 6 is far in its tail


def test_a_drift_error_is_a_value_error_that_names_its_cause():
    assert issubclass(DriftError, ValueError)


def test_a_precision_with_another_tokenizer_is_an_error_before_any_request(tmp_path):
    from types import SimpleNamespace

    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from evals.config.matrix import load_matrix
    from evals.engine.endpoints import Unreachable
    from evals.run.drift_pass import DriftPass

    def tokenizer(folder: str, vocab: dict[str, int]) -> str:
        inner = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
        inner.pre_tokenizer = pre_tokenizers.Whitespace()
        PreTrainedTokenizerFast(tokenizer_object=inner, unk_token="<unk>").save_pretrained(tmp_path / folder)
        return str(tmp_path / folder)

    base = {"<unk>": 0, "a": 1, "b": 2}
    paths = {"bf16": tokenizer("bf16", base), "fp8": tokenizer("fp8", {**base, "c": 3})}
    cases = [SimpleNamespace(precision=p, model=p) for p in paths]
    selection = SimpleNamespace(matrix=load_matrix(), profile="tiny", run_cases=cases, drift_reference=None)
    weights = SimpleNamespace(path=lambda model: (paths[model], None))
    no_server = Unreachable("fp8", AssertionError("a request was sent"))
    with pytest.raises(DriftError, match="fp8 has another tokenizer than bf16: token ids cannot be compared"):
        DriftPass(selection, weights, stores=None, run_dir=tmp_path).measure("fp8", no_server)


def test_the_reference_check_reads_each_tokens_rank_against_what_its_sampler_draws():
    import dataclasses

    from evals.config.matrix import load_matrix
    from evals.drift.scoring import token_ranks
    from evals.run.drift_pass import sampler_ranks

    # vLLM's prompt_logprobs: per position, the top-k and the sequence's own token, each with its rank.
    rows = [None, {"5": {"logprob": -0.1, "rank": 1}}, {"9": {"logprob": -2.0, "rank": 3}, "4": {"logprob": -0.2, "rank": 1}},
            {"7": {"logprob": -9.0, "rank": 40}, "2": {"logprob": -0.1, "rank": 1}}]
    response = {"choices": [{"prompt_logprobs": rows}]}
    assert token_ranks(response, [0, 5, 9, 7]) == [None, 1, 3, 40]
    assert token_ranks(response, [0, 5, 8, 7])[2] is None  # a token the server did not report
    sampled = next(c for c in load_matrix().cases("tiny") if c.mode.enable_thinking)
    greedy = next(c for c in load_matrix().cases("tiny_greedy"))
    assert sampler_ranks(sampled) == sampled.generation["top_k"] == 20 and sampler_ranks(greedy) == 1
    no_top_k = dataclasses.replace(sampled, generation={k: v for k, v in sampled.generation.items() if k != "top_k"})
    assert sampler_ranks(no_top_k) == math.inf
    from evals.run.drift_pass import unsampleable

    thinking = next(c for c in load_matrix().cases("tiny") if c.mode.enable_thinking)
    penalised = next(c for c in load_matrix().cases("tiny") if not c.mode.enable_thinking)
    assert unsampleable(thinking) == 40 and unsampleable(greedy) == 5  # rank 41 of a top-20 sampler: not what was generated
    # A presence penalty re-ranks the model's tokens before the draw: no per-token bound.
    assert penalised.generation["presence_penalty"] == 1.5 and unsampleable(penalised) == math.inf


def _sample(response: str, token_ids=None):
    from evals.artifacts.types import Sample

    return Sample("bf16-aime24-think", "2024-I-1", 0, 0, "204", [], None, response, "stop", 10, 5, True, {}, {},
                  token_ids)


def test_drift_scores_the_generated_token_ids_and_refuses_a_text_that_is_not_them():
    from transformers import AutoTokenizer

    from evals.drift.sequences import response_ids
    from evals.engine.tiny.train import COMMITTED

    tokenizer = AutoTokenizer.from_pretrained(COMMITTED)
    generated = "<think>\n#001 Right 2#001 1#001.\n</think>\n\n$\\boxed{204}$"
    ids = tokenizer.encode(generated, add_special_tokens=False)
    # A non-canonical tokenization the model generated: its ids are scored as they are, not re-encoded.
    split = ids[:-1] + tokenizer.encode(tokenizer.decode(ids[-1:])[:1], add_special_tokens=False) + \
        tokenizer.encode(tokenizer.decode(ids[-1:])[1:], add_special_tokens=False)
    text = tokenizer.decode(split, skip_special_tokens=True)
    assert response_ids(tokenizer, _sample(text, split), "f:1") == split
    # A stop string is cut from the text, not from the ids.
    assert response_ids(tokenizer, _sample(generated[:-1], ids), "f:1") == ids
    # A server whose reasoning parser took the thinking out of the text: refused, naming the response.
    answer = generated.split("</think>")[1]
    with pytest.raises(DriftError, match=r"f:1: bf16-aime24-think item 2024-I-1: the response's text is not what its "
                                         r"\d+ generated tokens decode to \(from character 0:"):
        response_ids(tokenizer, _sample(answer, ids), "f:1")
    # Kept without ids (an earlier run): the text re-encoded, which must decode back to itself.
    assert response_ids(tokenizer, _sample(generated), "f:2") == ids


def test_a_reasoning_parser_on_the_server_is_an_error_naming_it():
    from evals.lmeval.model import split_reasoning

    answer = {"choices": [{"message": {"content": "\\boxed{204}", "reasoning_content": "Let me think"}}]}
    assert split_reasoning(answer) == "Let me think"
    assert split_reasoning({"choices": [{"message": {"content": "<think>x</think>\\boxed{204}"}}]}) is None
    assert split_reasoning({"choices": [{"message": {"content": "a", "reasoning": "b"}}]}) == "b"


def test_a_text_kept_without_ids_must_survive_re_encoding():
    from evals.drift.sequences import response_ids

    class Lossy:  # a tokenizer that drops what it does not know, as one without byte fallback does
        def encode(self, text, add_special_tokens=False):
            return [ord(c) for c in text if c.isascii()]

        def decode(self, ids, skip_special_tokens=False):
            return "".join(map(chr, ids))

    assert response_ids(Lossy(), _sample("x = 5"), "f:3") == [120, 32, 61, 32, 53]
    with pytest.raises(DriftError, match=r"f:3: .* does not survive re-encoding \(from character 4: '∞' against ''\), "
                                         r"and the run kept no generated token ids"):
        response_ids(Lossy(), _sample("x = ∞"), "f:3")
