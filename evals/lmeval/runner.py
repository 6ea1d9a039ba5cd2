"""One case: lm-eval on the suite's task, against a running server, into records and metrics."""

from __future__ import annotations

import functools
import logging
import math
import statistics
from typing import Any
from unittest import mock

from evals.lmeval.model import NotDrawn, RequestsCollected, SuiteChatCompletions, generation_seconds
from evals.engine.client import Request
from evals.engine.endpoints import Endpoint
from evals.config.paths import TASKS_DIR
from evals.config.matrix import Case
from evals.lmeval.call import LmEvalCall, lm_eval_call
from evals.artifacts.types import CaseResult, Sample
from scorers.registry import load_task_metrics


@functools.cache
def task_manager():
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


def load_task(call: LmEvalCall):
    task = task_manager().load([call.task])["tasks"][call.task]
    task.set_config("repeats", call.repeats)
    return task


def make_model(call: LmEvalCall, case_id: str, endpoint: Endpoint, store=None, progress=None, collect: bool = False,
               drawn: dict[str, int] | None = None):
    """lm-eval's model for a case. The endpoint starts only when a request is really sent
    (a stored one is answered from `store`); `drawn`: the samples per item the run drew."""
    return SuiteChatCompletions(endpoint=endpoint, model=endpoint.served_name, store=store, case_id=case_id,
                                progress=progress, collect=collect, drawn=drawn, **call.model_args)


def evaluate(call: LmEvalCall, model):
    """lm-eval's simple_evaluate, as the description says."""
    import lm_eval.evaluator

    logging.getLogger("lm_eval").setLevel(logging.WARNING)
    # lm-eval describes the environment (torch's collect_env: `pip list`, nvidia-smi, ...)
    # anew for every call, 0.7 s a case here, and has no switch for it. The description
    # cannot change within a process: compute it once, every results.json still holds it.
    # (patch.object fails loudly if lm-eval ever drops the name.)
    with mock.patch.object(lm_eval.evaluator, "add_env_info", _environment_once):
        return lm_eval.evaluator.simple_evaluate(model=model, tasks=[load_task(call)], task_manager=task_manager(),
                                                 **call.evaluate, **call.reporting)


def case_requests(case: Case, endpoint: Endpoint, store=None) -> list[Request]:
    """The case's requests, in lm-eval's order, as its run will send them (none is sent)."""
    call = lm_eval_call(case)
    model = make_model(call, case.id, endpoint, store, collect=True)
    try:
        evaluate(call, model)
    except RequestsCollected as collected:
        return collected.requests
    raise RuntimeError(f"{case.id}: lm-eval asked the model for no generation")


@functools.cache
def _environment() -> dict[str, Any]:
    from lm_eval.loggers.utils import add_env_info

    storage: dict[str, Any] = {}
    add_env_info(storage)
    return storage


def _environment_once(storage: dict[str, Any]) -> None:
    storage.update(_environment())


def run_case(case: Case, endpoint: Endpoint, store=None, progress=None, generated_in: float | None = None,
             drawn: dict[str, int] | None = None) -> CaseResult:
    """`generated_in`: seconds the generation pass took to finish this case's requests, if it
    made them; `drawn`: the samples per item the run drew (None: the case's plan)."""
    call = lm_eval_call(case)
    if drawn is None and case.item_k:
        drawn = dict(case.item_k)
    model = make_model(call, case.id, endpoint, store, progress, drawn=drawn)
    out = evaluate(call, model)
    if progress is not None:
        progress.finish()
    seconds = generation_seconds(model)
    return collect(case, out, generated_in if seconds is None else seconds)


def collect(case: Case, out: dict, gen_seconds: float | None = None) -> CaseResult:
    """Per-response records and case metrics from lm-eval's output. A response is scored
    once, by the task's hook as lm-eval aggregates its metrics (evals/tasks/utils.py), which
    keeps the verdicts on the response (`Generation.verdicts`); lm-eval logs that same
    object, and its verdicts are used here. Only a response that carries none (a plain
    `str`, such as lm-eval's placeholder for a missing answer) is scored here."""
    name = case.task.lm_eval_task
    results = out["results"][name]
    task_metrics = load_task_metrics()[case.task.kind]
    primary = task_metrics.primary_for(case.mode.name)
    scorers = task_metrics.scorers()  # for a response the hook could not keep verdicts on
    samples = []
    for doc_sample in out["samples"][name]:
        responses = doc_sample["resps"][0]
        gold = doc_sample["doc"]["answer"]
        for repeat, response in enumerate(responses):
            if isinstance(response, NotDrawn):
                continue
            verdicts = getattr(response, "verdicts", None)
            if verdicts is None:
                verdicts = {metric: scorer(response, gold) for metric, scorer in scorers.items()}
            samples.append(Sample(
                case=case.id,
                item=doc_sample["doc"]["id"],
                doc_id=doc_sample["doc_id"],
                repeat=repeat,
                gold=gold,
                messages=getattr(response, "messages", None),
                chat_template_kwargs=case.generation.get("chat_template_kwargs"),
                response=str(response),
                finish_reason=getattr(response, "finish_reason", None),
                prompt_tokens=getattr(response, "prompt_tokens", None),
                completion_tokens=getattr(response, "completion_tokens", None),
                token_ids=getattr(response, "token_ids", None),
                correct=verdicts[primary].correct,
                verdicts={m: v.correct for m, v in verdicts.items()},
                extracted={m: v.extracted for m, v in verdicts.items()},
                notes={m: v.note for m, v in verdicts.items() if v.note} or None,
            ))
    metrics = {
        metric: {"mean": results[f"{metric},all"], "stderr": _stderr(results.get(f"{metric}_stderr,all"))}
        for metric in task_metrics.metrics
    }
    tokens = [s.completion_tokens for s in samples if s.completion_tokens is not None]
    n = len(out["samples"][name])
    return CaseResult(
        case_id=case.id,
        identity={"precision": case.precision, "task": case.task.name, "mode": case.mode.name,
                  "thinking": case.mode.enable_thinking},
        metrics=metrics,
        primary=primary,
        n=n,
        k=case.repeats,  # the most samples of an item (a planned case's items may have fewer)
        truncation_rate=sum(s.finish_reason == "length" for s in samples) / max(1, len(samples)),
        output_tokens={"mean": statistics.fmean(tokens) if tokens else math.nan, "max": max(tokens, default=0)},
        generation_seconds=gen_seconds,
        samples=samples,
        lm_eval_results=out,
    )


def _stderr(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):  # lm-eval writes "N/A" when n < 2
        return math.nan

