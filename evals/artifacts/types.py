"""The typed records of a run, as its files hold them: a case's result (CaseResult), its
baseline record (Record, with how it is judged: GateTerms), and one response (Sample)."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from evals.artifacts.jsonio import DamagedFile, fields_of


@dataclass
class CaseResult:
    case_id: str
    identity: dict[str, Any]  # precision, task, mode, thinking: what the report groups by
    metrics: dict[str, dict[str, float]]  # metric -> {mean, stderr}
    primary: str
    n: int  # items
    k: int  # samples per item
    truncation_rate: float
    output_tokens: dict[str, float]  # mean, max
    generation_seconds: float | None  # first request of its generation (the model's pass) to its last response
    samples: list[Sample] = field(repr=False)  # one per response
    lm_eval_results: dict[str, Any] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "case": self.case_id, **self.identity, "primary": self.primary, "n": self.n, "k": self.k,
            "metrics": self.metrics, "truncation_rate": self.truncation_rate, "output_tokens": self.output_tokens,
            "generation_seconds": self.generation_seconds,
        }


@dataclass(frozen=True)
class GateTerms:
    """How a record is judged (evals/gate/policy.py): its test's share of the run's alpha,
    the run's alpha, the margin, the confidence of the bound that clears it, whether an
    inconclusive test fails, and whether more samples per item could tell more (sampled
    decoding; greedy gives one answer per item)."""

    alpha: float  # of the drop test
    run_alpha: float | None
    margin: float
    confidence: float
    strict: bool = False
    sampled: bool = True
    rise_alpha: float | None = None  # of the rise test, where it differs (None: `alpha`)


@dataclass(frozen=True)
class Record:
    """A case's baseline record: what `snapshots/<profile>/<case>.json` holds and a run's
    `<case>/record.json` too. Its items are the primary metric's outcomes, "correct/k"."""

    case: str
    profile: str
    created: str
    fingerprint: dict[str, Any]  # what must be equal for two records to be compared (evals/gate/records.py)
    gate: GateTerms
    primary: str
    n: int
    k: int
    metrics: dict[str, dict[str, float]]
    truncation_rate: float
    output_tokens: float | None  # mean per response
    items: dict[str, str]  # item -> "correct/k"
    run: str | None = None  # the run folder that made it (its name): where its responses are; None before it was kept

    @functools.cached_property
    def counts(self) -> dict[str, tuple[int, int]]:
        """Per item: (correct samples, samples). A count that cannot be (a hand-edited "5/1",
        "1/0", "-3/1", "x/2") is a DamagedFile naming the record's file, the item and the value."""
        counts = {}
        for item, ratio in self.items.items():
            match = _RATIO.fullmatch(ratio) if isinstance(ratio, str) else None
            correct, k = (int(match[1]), int(match[2])) if match else (-1, 0)
            if not 0 <= correct <= k or k < 1:
                where = getattr(self, "_source", None)  # the file it was read from (`from_data`)
                raise DamagedFile(f"{'' if where is None else f'{where}: '}item {item}: {ratio!r} is not correct/k "
                                  "with 0 <= correct <= k, k >= 1")
            counts[item] = (correct, k)
        return counts

    def as_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @functools.cached_property
    def text(self) -> str:
        """The record as its files hold it: sorted, indented JSON."""
        return json.dumps(self.as_data(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_data(cls, data: Any, where: Any) -> "Record":
        """A record read from `where` (a file); DamagedFile naming it and the field that is
        missing or malformed. Its items' counts are checked when they are first read
        (`counts`; the gate reads a baseline's at once, evals/gate/baselines.py), so a reader
        that needs only its other fields (the planner's output tokens) is not stopped by them."""
        with fields_of(where):
            if not isinstance(data, dict):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            if not isinstance(data["fingerprint"], dict) or not isinstance(data["primary"], str):
                raise TypeError("'fingerprint' must be an object and 'primary' a metric name")
            if not isinstance(data["items"], dict):
                raise TypeError("'items' must map items to \"correct/k\"")
            gate = data["gate"]
            record = cls(
                case=str(data["case"]), profile=str(data["profile"]), created=str(data["created"]),
                fingerprint=data["fingerprint"],
                gate=GateTerms(gate["alpha"], gate.get("run_alpha"), gate["margin"], gate["confidence"],
                               gate.get("strict", False), gate.get("sampled", True), gate.get("rise_alpha")),
                primary=data["primary"], n=data["n"], k=data["k"], metrics=data["metrics"],
                truncation_rate=data["truncation_rate"], output_tokens=data.get("output_tokens"), items=data["items"],
                run=data.get("run"))
        object.__setattr__(record, "_source", where)  # not a field: named by `counts`, never written
        return record

    @classmethod
    def from_json(cls, text: str, where: Any, what: str = "record") -> "Record":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise DamagedFile(f"{where}: an unreadable {what}, not valid JSON ({exc or type(exc).__name__})") from None
        return cls.from_data(data, where)


_RATIO = re.compile(r"([0-9]+)/([0-9]+)")  # an item's "correct/k"


@dataclass(frozen=True)
class Sample:
    """One response of a case: a line of `<case>/samples.jsonl`, made by the runner
    (evals/lmeval/runner.py `collect`) with the verdicts of the response's one scoring, in
    the task's lm-eval hook (evals/tasks/utils.py)."""

    case: str
    item: str
    doc_id: int
    repeat: int  # which of the item's k samples
    gold: str
    messages: list[dict] | None  # the chat messages as sent
    chat_template_kwargs: dict[str, Any] | None
    response: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    correct: bool  # the primary metric's verdict
    verdicts: dict[str, bool]  # metric -> correct
    extracted: dict[str, str | None]  # metric -> what its scorer compared with the gold answer
    token_ids: list[int] | None = None  # the generated tokens, where the run asked for them (the drift reference's)
    notes: dict[str, str] | None = None  # metric -> its scorer's note, where it gave one ("no answer", "timeout")

    def as_data(self) -> dict[str, Any]:
        """The line's JSON object: the fields, in their order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_data(cls, data: Any, where: Any) -> "Sample":
        """A sample read from `where` (a file and line, "…/samples.jsonl:3"); DamagedFile
        naming it and the field that is missing or malformed. A line written before
        `chat_template_kwargs` or `token_ids` was kept has none (None)."""
        with fields_of(where):
            if not isinstance(data, dict):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            values = {}
            for name, kinds in _SAMPLE_FIELDS.items():
                value = data.get(name) if name in _SAMPLE_OPTIONAL else data[name]
                if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                    raise TypeError(f"{name!r} must be {' or '.join(k.__name__ for k in kinds)}, "
                                    f"got {type(value).__name__}")
                values[name] = value
        return cls(**values)


_NONE = type(None)
_SAMPLE_FIELDS: dict[str, tuple[type, ...]] = {
    "case": (str,), "item": (str,), "doc_id": (int,), "repeat": (int,), "gold": (str,),
    "messages": (list, _NONE), "chat_template_kwargs": (dict, _NONE), "response": (str,),
    "finish_reason": (str, _NONE), "prompt_tokens": (int, _NONE), "completion_tokens": (int, _NONE),
    "correct": (bool,), "verdicts": (dict,), "extracted": (dict,), "token_ids": (list, _NONE),
    "notes": (dict, _NONE),
}
# Fields a line written before they were kept lacks (None).
_SAMPLE_OPTIONAL = ("chat_template_kwargs", "token_ids", "notes")
