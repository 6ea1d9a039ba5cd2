"""A response is scored once: in the task's lm-eval hook (evals/tasks/utils.py), which keeps
the verdicts on the response (`Generation.verdicts`); the runner (evals/lmeval/runner.py
`collect`) writes those, and scores only a response that cannot carry them. lm-eval itself
runs offline here: the model answers every request with a canned response, nothing is sent."""

import dataclasses
from collections import Counter

import pytest
from lm_eval.models.api_models import LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER

from evals import data
from evals.config.matrix import load_matrix
from evals.lmeval import runner
from evals.lmeval.model import Generation, SuiteChatCompletions
from scorers.registry import TaskMetrics, load_task_metrics
from tests.responses import AIME_RESPONSES

REPEATS = 3


class Server:
    served_name, url = "served", "http://127.0.0.1:9"  # port 9: nothing listens, nothing is sent
    headers: dict = {}


def canned(text: str | None) -> dict:
    return {"choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 5}}


@pytest.fixture
def case():
    aime = next(c for c in load_matrix().cases("tiny") if c.task.kind == "aime" and c.mode.name == "think_final")
    return dataclasses.replace(aime, repeats=REPEATS)


@pytest.fixture
def answering(monkeypatch, case):
    """The model's answers: `text(i, gold)` for the i-th request, gold its item's answer."""
    golds = {row["problem"]: row["answer"] for row in data.load(case.task.name, "local")}

    def answer_with(text):
        def answer(self, wanted):
            for i, request in enumerate(wanted):
                content = request.payload["messages"][-1]["content"]
                [gold] = [g for problem, g in golds.items() if problem in content]
                request.response = canned(text(i, gold))
        monkeypatch.setattr(SuiteChatCompletions, "answer", answer)
    return answer_with


@pytest.fixture
def scored(monkeypatch):
    """Every call of a task's scorers, counted per (metric, response object)."""
    calls: Counter = Counter()
    kept = []  # the responses scored, alive, so their ids stay theirs
    original = TaskMetrics.scorers

    def counting(self):
        def count(name, scorer):
            def counted(response, gold):
                calls[name, id(response)] += 1
                kept.append(response)
                return scorer(response, gold)
            return counted
        return {name: count(name, scorer) for name, scorer in original(self).items()}

    monkeypatch.setattr(TaskMetrics, "scorers", counting)
    return calls


def texts(i: int, gold: str) -> str:
    """Right, thinking-only (strip_think and prefer_final disagree) and real Qwen3 formats."""
    return [f"The answer is $\\boxed{{{gold}}}$.", f"<think>\nThe answer should be {gold} minutes",
            AIME_RESPONSES[i % len(AIME_RESPONSES)][0]][i % 3]


def test_each_response_is_scored_once_per_metric_and_its_verdicts_are_the_scorers(case, answering, scored, monkeypatch):
    answering(texts)
    result = runner.run_case(case, Server())
    responses = [r for doc in result.lm_eval_results["samples"][case.task.lm_eval_task] for r in doc["resps"][0]]
    metrics = load_task_metrics()[case.task.kind].metrics
    assert len(responses) == len(result.samples) == case.limit * REPEATS
    assert scored == Counter({(metric, id(r)): 1 for r in responses for metric in metrics})
    assert all(isinstance(r, Generation) and set(r.verdicts) == set(metrics) for r in responses)

    monkeypatch.undo()  # scorers as they are, uncounted
    task = load_task_metrics()[case.task.kind]
    for sample in result.samples:
        verdicts = {name: scorer(sample.response, sample.gold) for name, scorer in task.scorers().items()}
        assert sample.verdicts == {m: v.correct for m, v in verdicts.items()}, sample.item
        assert sample.extracted == {m: v.extracted for m, v in verdicts.items()}, sample.item
        assert sample.correct == verdicts[result.primary].correct
    # lm-eval's aggregate (the hook's) is the mean of the per-response verdicts, every metric.
    assert len({(s.verdicts[metrics[0]], s.verdicts[result.primary]) for s in result.samples}) > 1
    for metric in metrics:
        per_item: dict[str, list[bool]] = {}
        for sample in result.samples:
            per_item.setdefault(sample.item, []).append(sample.verdicts[metric])
        own_mean = sum(sum(v) / len(v) for v in per_item.values()) / len(per_item)
        assert abs(own_mean - result.metrics[metric]["mean"]) < 1e-9, metric


def test_a_response_that_cannot_keep_its_verdicts_is_scored_by_the_runner(case, answering, monkeypatch):
    """lm-eval's placeholder for a missing answer is a plain str: the runner scores it."""
    answering(lambda i, gold: None if i % 2 else f"\\boxed{{{gold}}}")
    result = runner.run_case(case, Server())
    missing = [s for s in result.samples if s.response == LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER]
    assert missing and len(missing) < len(result.samples)
    task = load_task_metrics()[case.task.kind]
    for sample in result.samples:
        verdicts = {name: scorer(sample.response, sample.gold) for name, scorer in task.scorers().items()}
        assert sample.verdicts == {m: v.correct for m, v in verdicts.items()}
        assert sample.extracted == {m: v.extracted for m, v in verdicts.items()}
    assert all(s.finish_reason is None and not s.correct for s in missing)
