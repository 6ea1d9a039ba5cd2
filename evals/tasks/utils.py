"""lm-eval hooks (`!function utils.X`) of the suite's tasks: data from the
project's verified files, scoring by the project's scorers."""

from __future__ import annotations

import datasets

from evals import data
from scorers.registry import load_task_metrics


def load_split(name: str, source: str = "local", **_metadata) -> dict:
    """custom_dataset hook: {"test": Dataset} of one vendored (or hub) data set."""
    return {"test": datasets.Dataset.from_list(data.load(name, source))}


def keep_all(resps, docs):
    """Filter that keeps all k responses of each doc (lm-eval's default keeps the first)."""
    return resps


def _scores(kind: str, doc: dict, results: list) -> dict[str, float]:
    responses = results[0] if results and isinstance(results[0], list) else results
    return {
        name: sum(scorer(r, doc["answer"]).correct for r in responses) / len(responses)
        for name, scorer in load_task_metrics()[kind].scorers().items()
    }


def process_aime(doc: dict, results: list) -> dict[str, float]:
    """Per doc: the share of its k responses each metric judges correct (avg@k)."""
    return _scores("aime", doc, results)


def process_math(doc: dict, results: list) -> dict[str, float]:
    return _scores("math", doc, results)
