"""One pytest session's run of the matrix, as the suite's tests use it: what it runs (its
Selection, from the plugin), its artifacts folder, its servers and stores, each model's
generation pass, its cases' records and its gates; checks before any engine starts."""

from __future__ import annotations

import dataclasses
from typing import Callable

from evals.artifacts.run_folder import RunArtifacts
from evals.config.paths import snapshots_dir
from evals.engine.client import pool_size
from evals.engine.endpoints import Endpoint
from evals.engine.weights import Weights
from evals.lmeval.call import in_flight
from evals.lmeval.preflight import check_cases
from evals.planning.power import output_tokens
from evals.run.errors import RunError
from evals.artifacts.types import GateTerms
from evals.config.matrix import Case
from evals.planning.item_plan import case_items, uniform_k
from evals.run.gates import Gates
from evals.run.looks import Judge, LookAlphas, looks_of
from evals.run.generation_pass import PassResult, generation_pass
from evals.run.progress import Progress, ProgressLog
from evals.run.records import Records
from evals.run.selection import Selection
from evals.run.servers import Servers
from evals.run.stores import Stores


class MatrixRun:
    def __init__(self, selection: Selection, terminal: Callable[[str], None] = print):
        self.selection, self.terminal = selection, terminal
        self.policy = selection.policy
        self._passes: dict[str, PassResult] = {}  # precision -> its generation pass in this session

    def __enter__(self) -> "MatrixRun":
        selection = self.selection
        facts = {"limit": selection.limit, "baseline": selection.baseline, "seed": selection.seed,
                 "replace_baselines": selection.replace_baselines, "smoke": selection.smoke, "plans": dict(selection.plans),
                 **({"replay_of": str(selection.replay)} if selection.replay else {}),
                 **({"drift_reference": str(selection.drift_reference.dir)} if selection.drift_reference else {})}
        self.artifacts = RunArtifacts(selection.run_dir, selection.matrix, selection.profile, list(selection.cases),
                                      selection.session, **facts)
        self.weights = Weights(selection.matrix)
        self.stores = Stores(self.artifacts, selection.replay, selection.replayed)
        self.servers = Servers(selection, self.artifacts, self.weights, self.stores)
        self.records = Records(selection, self.artifacts, self.terminal)
        looks = looks_of(selection)
        self.judge = Judge(selection, self.artifacts.dir) if looks.count > 1 and not selection.replay else None
        self.look_alphas = LookAlphas(looks, self.judge, [self.artifacts.dir, *([selection.replay] if selection.replay else [])])
        self.gates = Gates(selection, self.artifacts, self.records, self.look_alphas)
        self.progress_log = ProgressLog(self.artifacts.dir / "progress.log", self.terminal, selection.progress_interval)
        if not selection.replay:  # a replay sends no prompt, and needs no tokenizer
            self._preflight()
            self.servers.launch_ahead()
        return self

    def __exit__(self, *exc) -> None:
        self.servers.stop()

    def _preflight(self) -> None:
        """Before any engine starts: every prompt of every case fits, with its system instruction."""
        from transformers import AutoTokenizer

        problems = []
        for precision, case in self.servers.local_models().items():
            path, revision = self.weights.path(case.model)
            tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
            max_len = case.server.get("max_model_len") or tokenizer.model_max_length
            problems += check_cases([c for c in self.selection.cases if c.precision == precision], tokenizer, max_len)
        if problems:
            listed = "\n".join(f"  {p}" for p in problems[:30])
            more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
            raise RunError(f"pre-flight check failed for {len(problems)} prompt(s):\n{listed}{more}")

    def generate(self, precision: str, endpoint: Endpoint) -> PassResult | None:
        """The precision's generation pass (evals/run/generation_pass.py), once per session,
        before its first case: every request of its cases this session runs. None for a
        replay, which only reads. A pass that could not finish fails this case; its
        model's other cases then meet its error again (a dead server) or send their own
        remaining requests."""
        if self.selection.replay:
            return None
        if precision not in self._passes:
            self._passes[precision] = PassResult()  # one attempt, even if it raises
            cases = self.selection.scheduled_cases(precision)
            expected = {c.id: output_tokens(self.selection.matrix, c, snapshots_dir())[0] for c in cases}
            most = in_flight(cases[0]) if cases else 0
            label = f"{precision} generation pass ({len(cases)} cases)"
            made = self._passes[precision] = generation_pass(
                cases, endpoint, self.stores.generations(precision), expected,
                lambda server: pool_size(most, self.servers.kv_tokens.get(server.url)), self.progress(label), label,
                self.judge)
            measured = made.measured()
            if measured is not None:  # what the planner's cost model reads (evals/planning/throughput.py)
                self.artifacts.record_model(precision, generation_pass=measured)
            # what the plan and the looks drew, beside what the profile's uniform k would have; `generated`
            # also counts what was drawn ahead of a look that then stopped its case (kept, not scored)
            self.artifacts.record_model(precision, draws={
                "uniform": sum(len(case_items(c)) * uniform_k(self.selection.matrix, c) for c in cases),
                "planned": made.planned, "drawn": sum(sum(d.values()) for d in made.drawn.values()),
                "generated": made.requests})
        return self._passes[precision]

    def drawn(self, case: Case) -> dict[str, int] | None:
        """Per item, the samples the run drew of a case (None: what its plan says)."""
        return self.look_alphas.drawn(case.id)

    def terms(self, case: Case) -> GateTerms:
        """How the case's record is judged: at the alpha of the last look it drew in."""
        policy = self.policy
        terms = policy.terms("case", policy.case_margin(case), case.sampled)
        return dataclasses.replace(terms, alpha=self.look_alphas.alpha(terms.alpha, [case.id]),
                                   rise_alpha=self.look_alphas.alpha(terms.rise_alpha, [case.id]))

    def progress(self, label: str) -> Progress:
        return self.progress_log.progress(label)
