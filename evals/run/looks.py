"""The run's looks (evals/gate/sequential.py): after each round of a model's generation
pass, every gate test over its cases is judged on what has been drawn, and the pass goes
on drawing only for the cases that a test still needs.

A case stops drawing when a test reading it has failed (its data then end where it
failed), or when every test reading it has ended. Each test's decision in the end is the
one the run's records give: on all the samples its cases drew, at the alpha of the last
look any of them drew in (a test settled early whose cases drew on for another test is
judged again on more data; by the union bound its false alarms stay within its alpha).
`looks/<precision>.json` in the run folder says, per test, how and at which look it
ended, and per case the last look it drew in and its samples per item.

A response is scored here as lm-eval's task hook will score it (the same text,
evals/lmeval/model.py `response_text`, and the same primary scorer); one that cannot be
scored (a failed or odd answer) counts as not drawn: its case fails on it later anyway.
"""

from __future__ import annotations

import functools

import numpy as np

from evals import data
from evals.artifacts.jsonio import DamagedFile, read_json, write_json
from evals.config.matrix import Case
from evals.engine.client import Request, answer_problem
from evals.gate import baselines, noise
from evals.gate.looks import Watch, bound, drawing_on, judge_at, watches
from evals.gate.sequential import Looks
from evals.gate.stats import Strata
from evals.lmeval.call import lm_eval_call
from evals.lmeval.model import response_text
from evals.planning.item_plan import case_items
from evals.run.selection import Selection
from scorers.registry import load_task_metrics


def looks_of(selection: Selection) -> Looks:
    """The looks a run of this selection takes: the config's for a sampled run against
    baselines; one for a baseline run, a smoke run or greedy decoding."""
    gate = selection.matrix.gate
    single = selection.baseline or selection.smoke or not all(c.sampled for c in selection.cases)
    return Looks(1 if single else gate.looks, gate.futility_confidence)


class Judge:
    """The looks of one session: its models' passes, one after another."""

    def __init__(self, selection: Selection, run_dir):
        self.selection, self.run_dir = selection, run_dir
        self.looks = looks_of(selection)
        self.tests = watches(selection.matrix, selection.policy, list(selection.run_cases))
        self.by_id = {c.id: c for c in selection.run_cases}
        self.correct: dict[str, dict[str, list[bool | None]]] = {}  # case -> item -> verdict per repeat drawn
        self.drawn: dict[str, dict[str, int]] = {}  # case -> item -> samples drawn so far
        self.last: dict[str, int] = {}  # case -> the last look it drew in
        self.stopped: set[str] = set()  # cases that draw no more
        self.ended: dict[str, dict] = {}  # test id -> how it ended (open tests have none)
        self._bounds: dict[str, float] = {}
        self._baselines: dict[str, dict[str, tuple[int, int]] | None] = {}  # case -> its baseline's counts, read once
        # A resumed run keeps the looks it took: per precision, the looks judged and what they decided.
        self.kept: dict[str, dict] = {}
        for path in sorted((run_dir / "looks").glob("*.json")) if (run_dir / "looks").is_dir() else []:
            kept = read_json(path)
            self.kept[path.stem] = kept
            self.ended.update(kept.get("tests", {}))

    def _baseline_counts(self, case_id: str) -> dict[str, tuple[int, int]] | None:
        if case_id not in self._baselines:
            try:
                record = baselines.read(self.selection.profile, case_id)
            except DamagedFile:
                record = None
            self._baselines[case_id] = None if record is None else record.counts
        return self._baselines[case_id]

    def _comparable(self, test: Watch, items: dict[str, set[str]]) -> bool:
        """A recovery test, or a test whose every case has a baseline over `items[case]`."""
        return test.recovery or all((k := self._baseline_counts(c)) is not None and set(k) == items[c] for c in test.cases)

    def judged(self, test: Watch) -> bool:
        """Whether the looks judge this test: its cases' samples are drawn in this session's
        passes and what it compares them with is at hand."""
        if any(c not in self.drawn for c in test.reads):
            return False
        return self._comparable(test, {c: set(self.drawn[c]) for c in test.cases})

    def watches(self, cases: list[Case]) -> bool:
        """Whether a test would judge any of these cases (a pass whose cases no test reads,
        none compared with a baseline, draws them whole: it has nothing to stop for)."""
        ids = {c.id for c in cases}
        items = {c.id: set(case_items(c)) for c in cases}
        return any(test.cases[0] in ids and set(test.reads) <= ids | set(self.drawn) and self._comparable(test, items)
                   for test in self.tests)

    def start(self, case: Case, requests: list[Request]) -> None:
        """A case of this pass: its requests (those the plan draws)."""
        self.drawn[case.id] = {item: 0 for item in dict.fromkeys(r.item for r in requests)}
        self.correct[case.id] = {item: [] for item in self.drawn[case.id]}
        self.last[case.id] = 0

    def score(self, case: Case, look: int, requests: list[Request], store) -> None:
        """The case's samples of round `look`, scored as the task's hook scores them."""
        metrics = load_task_metrics()[case.task.kind]
        scorer = metrics.scorers()[metrics.primary_for(case.mode.name)]
        gold = _golds(case.task.name)
        think_end = lm_eval_call(case).model_args.get("think_end_token")
        for request in sorted(requests, key=lambda r: (r.item, r.repeat)):
            response = store.get(request.key)
            ok = response is not None and answer_problem(request, response, none_content=True) is None
            text = response_text(response, think_end) if ok else None
            self.correct[case.id][request.item].append(None if not ok else bool(text is not None and scorer(text, gold[request.item]).correct))
            self.drawn[case.id][request.item] += 1
        self.last[case.id] = look

    def _counts(self, case_id: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        items = sorted(self.drawn[case_id])
        verdicts = [[v for v in self.correct[case_id][i] if v is not None] for i in items]
        return items, np.array([sum(v) for v in verdicts]), np.array([max(1, len(v)) for v in verdicts])

    def _strata(self, test: Watch) -> Strata:
        parts = {}
        for i, case_id in enumerate(test.cases):
            items, correct, k = self._counts(case_id)
            if test.recovery:
                ref_items, ref_correct, ref_k = self._counts(test.references[i])
                keep = [ref_items.index(item) for item in items]
                parts[case_id] = Strata.of(items, ref_correct[keep], ref_k[keep], correct, k)
            else:
                base = self._baseline_counts(case_id)
                parts[case_id] = Strata.of(items, [base[i][0] for i in items], [base[i][1] for i in items], correct, k)
        return Strata.concat(parts)

    def _bound(self, test: Watch) -> float:
        if test.id not in self._bounds:
            rates, first, run = [], [], []
            for i, case_id in enumerate(test.cases):
                case = self.by_id[case_id]
                items = sorted(self.drawn[case_id])
                planned = np.array([case.samples_of(item) for item in items])
                if test.recovery:
                    reference = self.by_id[test.references[i]]
                    first.append(np.array([reference.samples_of(item) for item in items]))
                    source = self._baseline_counts(test.references[i]) or self._baseline_counts(case_id)
                else:
                    source = self._baseline_counts(case_id)
                    first.append(np.array([source[item][1] for item in items]))
                if source is None:  # a recovery test without a baseline of either side: nothing to settle it by
                    self._bounds[test.id] = np.inf
                    return np.inf
                rates.append(noise.shrunk_rates(np.array([source[i][0] for i in items]), np.array([source[i][1] for i in items])))
                run.append(planned)
            self._bounds[test.id] = float(bound(test, self.selection.policy, np.concatenate(rates), np.concatenate(first),
                                                np.concatenate(run))[0])
        return self._bounds[test.id]

    def after(self, precision: str, look: int) -> set[str]:
        """Judge every test over this precision's cases whose samples grew in round `look`:
        the cases that draw on in the next round (none after the last look)."""
        mine = [c for c in self.drawn if self.by_id[c].precision == precision]
        kept = self.kept.get(precision, {})
        if look <= kept.get("judged", 0):  # judged before this run was resumed: as it was then
            going = {c for c in mine if kept["cases"].get(c, {}).get("last_look", 0) > look}
            self.stopped.update(c for c in mine if c not in going)
            return going
        watching = [t for t in self.tests if t.cases[0] in mine and self.judged(t)]
        for test in watching:
            if not any(self.last[c] == look for c in test.cases):
                continue  # nothing new: it stays as it was judged
            decision, how = judge_at(test, self._strata(test), self.selection.policy, self.looks, look,
                                     self._bound(test), explain=False)
            if how is None:
                self.ended.pop(test.id, None)
                continue
            self.ended[test.id] = {"ended": how, "look": look, "verdict": decision.verdict, "p_value": decision.p_value,
                                   "upper": decision.upper, "settle_below": self._bound(test)}
        going = drawing_on([c for c in mine if c not in self.stopped], watching,
                           {t: e["ended"] for t, e in self.ended.items()}, self.looks.final(look))
        self.stopped.update(c for c in mine if c not in going)
        self._write(precision, look)
        return going

    def _write(self, precision: str, look: int) -> None:
        """The precision's looks so far, beside what an earlier session of the run kept of its other cases."""
        path = self.run_dir / "looks" / f"{precision}.json"
        kept = read_json(path) if path.exists() else {}
        mine = [c for c in self.drawn if self.by_id[c].precision == precision]
        write_json(path, {
            "looks": self.looks.count, "futility_confidence": self.looks.futility_confidence, "judged": look,
            "tests": {**kept.get("tests", {}),
                      **{t: e for t, e in self.ended.items() if t.split(" ", 1)[1].startswith(f"{precision}-")}},
            "cases": {**kept.get("cases", {}),
                      **{c: {"last_look": self.last[c], "drawn": self.drawn[c]} for c in mine}}})


@functools.cache
def _golds(task: str) -> dict[str, str]:
    return {str(r["id"]): r["answer"] for r in data.load(task)}


class LookAlphas:
    """The alpha of a test whose cases' samples ended at some look: the look of the last
    round any of them drew in (from this session's judge, else the run's looks files,
    else those of the run replayed); the whole alpha for a run judged once."""

    def __init__(self, looks: Looks, judge: Judge | None, folders: list):
        self.looks, self.judge, self.folders = looks, judge, folders

    def last_look(self, case_ids) -> int | None:
        found = []
        for case_id in case_ids:
            last = self.judge.last.get(case_id) if self.judge is not None else None
            if last is None:
                last = self._from_files(case_id)
            if last is not None:
                found.append(last)
        return max(found) if found else None

    def _from_files(self, case_id: str) -> int | None:
        entry = self._kept_entry(case_id)
        return None if entry is None else int(entry["last_look"])

    def _kept_entry(self, case_id: str) -> dict | None:
        """The case's entry in the first looks file that has one (this run's, then a replayed run's)."""
        precision = case_id.split("-", 1)[0]
        for folder in self.folders:
            path = folder / "looks" / f"{precision}.json"
            if path.exists() and case_id in (cases := read_json(path).get("cases", {})):
                return cases[case_id]
        return None

    def drawn(self, case_id: str) -> dict[str, int] | None:
        """Per item, the samples the run drew of a case judged in looks (None: its plan's)."""
        if self.judge is not None and case_id in self.judge.drawn:
            return dict(self.judge.drawn[case_id])
        entry = self._kept_entry(case_id)
        return None if entry is None else {item: int(k) for item, k in entry["drawn"].items()}

    def alpha(self, alpha: float, case_ids) -> float:
        if self.looks.count == 1:
            return alpha
        last = self.last_look(case_ids)
        return alpha if last is None else self.looks.alpha(alpha, last)
