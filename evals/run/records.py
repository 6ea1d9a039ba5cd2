"""The cases' records of a run: finishing a case (its record, its gate outcome against the
committed baseline, and that baseline, kept in the run folder) and reading any case's
record: this session's, another xdist worker's once that case's test is over, or one an
earlier session kept."""

from __future__ import annotations

import time
from pathlib import Path

from evals.artifacts.jsonio import write_json
from evals.artifacts.run_folder import RunArtifacts
from evals.artifacts.types import Record
from evals.config.matrix import Case
from evals.gate import baselines
from evals.gate.decision import UNREADABLE
from evals.run.errors import RunError
from evals.run.selection import Selection


class Records:
    def __init__(self, selection: Selection, artifacts: RunArtifacts, terminal=print):
        self.selection, self.artifacts, self.terminal = selection, artifacts, terminal
        self.records: dict[str, Record] = {}  # case id -> baseline record of this run
        self.baselines: dict[str, Record | None] = {}  # case id -> the baseline it was compared with
        self.gates: dict[str, dict] = {}  # case id -> its gate outcome (gate.json), this process's cases
        worker = selection.worker
        self._worker = {"worker": worker.name} if worker else {}

    def finish(self, case: Case, record: Record) -> dict:
        """Keep the case's record, its gate outcome for the report, and the baseline it was
        compared with (what the pooled tests compare too, whoever runs them); the outcome.
        Under --snapshot-update a case that did not pass is accepted only once its baseline
        file is written (`accepted`, after syrupy wrote it)."""
        self.records[case.id] = record
        gate, self.baselines[case.id] = baselines.outcome(case.profile, record)
        self.gates[case.id] = gate
        self.artifacts.write_record(case.id, record, gate, self.baselines[case.id], **self._worker)
        return gate

    def accepted(self, case_id: str) -> None:
        """The case's baseline file now holds this run's record (--snapshot-update wrote it):
        its gate.json says so. Nothing if the case passed, so that nothing was written."""
        gate = self.gates.get(case_id)
        if not self.selection.snapshot_update or gate is None or gate.get("passed"):
            return
        gate["accepted"] = True
        write_json(self.artifacts.dir / case_id / "gate.json", gate)
        if gate["status"] == UNREADABLE:
            self.terminal(f"{case_id}: {gate['error']}; --snapshot-update replaces it with this run's record")

    def baseline(self, case_id: str) -> Record | None:
        """The baseline a case of this run was compared with (another xdist worker's: from its artifacts)."""
        if case_id not in self.baselines:
            self.baselines[case_id] = self.artifacts.read_baseline(case_id)
        return self.baselines[case_id]

    def wait_for(self, test_id: str, poll_s: float = 2.0) -> None:
        """Under xdist: until another worker's test of this session (a case, or a precision's
        drift test) is over; at once if this session does not run it. RunError when nothing
        in the run folder moved for --server-timeout seconds."""
        selection = self.selection
        timeout = selection.ready_timeout
        while test_id in selection.scheduled and selection.worker is not None and not self.artifacts.ended(test_id):
            if time.time() - _last_change(self.artifacts.dir) > timeout:
                raise RunError(f"waited for {test_id} from another worker, but nothing in {self.artifacts.dir} "
                               f"moved for {timeout:.0f} s")
            time.sleep(poll_s)

    def record(self, case_id: str, poll_s: float = 2.0) -> Record | None:
        """A case's newest record in this run: this process's; another xdist worker's, once
        that case's test is over in this session; or, for a case this session does not run
        (-k, -m, or a narrowed resume), the one an earlier session kept. None if there is none."""
        if case_id in self.records:
            return self.records[case_id]
        self.wait_for(case_id, poll_s)
        record = self.artifacts.read_record(case_id)
        if record is not None:  # its test is over: it will not change (several pools ask for it)
            self.records[case_id] = record
        return record


def _last_change(run_dir: Path) -> float:
    # vLLM's own log moves every few seconds while it generates (its throughput lines).
    files = [run_dir / "manifest.json", run_dir / "progress.log", *run_dir.glob("generations/*.jsonl"),
             *run_dir.glob("drift/*.jsonl"), *run_dir.glob("servers/*.log")]
    return max((f.stat().st_mtime for f in files if f.exists()), default=time.time())
