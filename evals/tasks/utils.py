"""lm-eval hooks (`!function utils.X`) of the suite's tasks: data from the
project's verified files, scoring by the project's scorers."""

from __future__ import annotations

import datasets

from evals import data
from evals.lmeval.model import NotDrawn
from scorers.registry import load_task_metrics


def load_split(name: str, source: str = "local", **_metadata) -> dict:
    """custom_dataset hook: {"test": Dataset} of one vendored (or hub) data set."""
    return {"test": datasets.Dataset.from_list(data.load(name, source))}


def keep_all(resps, docs):
    """Filter that keeps all k responses of each doc (lm-eval's default keeps the first)."""
    return resps


def _scores(kind: str, doc: dict, results: list) -> dict[str, float]:
    """Per metric, the share of the doc's responses judged correct. This is where a
    response is scored, the one time: a response that can carry its verdicts (the
    suite model's `Generation`, evals/lmeval/model.py) keeps them in `verdicts`, and
    the runner (evals/lmeval/runner.py `collect`) writes those to the artifacts. lm-eval
    hands this hook the model's own response objects, and logs the same ones in its
    samples."""
    responses = results[0] if results and isinstance(results[0], list) else results
    # a sample the run's plan did not draw (evals/lmeval/model.py `NotDrawn`) is no sample
    responses = [r for r in responses if not isinstance(r, NotDrawn)]
    scorers = load_task_metrics()[kind].scorers()
    judged = []
    for response in responses:
        verdicts = {name: scorer(response, doc["answer"]) for name, scorer in scorers.items()}
        if hasattr(response, "verdicts"):  # a plain str (lm-eval's placeholder for no answer) cannot keep them
            response.verdicts = verdicts
        judged.append(verdicts)
    return {name: sum(v[name].correct for v in judged) / max(1, len(judged)) for name in scorers}


def process_aime(doc: dict, results: list) -> dict[str, float]:
    """Per doc: the share of its k responses each metric judges correct (avg@k)."""
    return _scores("aime", doc, results)


def process_math(doc: dict, results: list) -> dict[str, float]:
    return _scores("math", doc, results)
