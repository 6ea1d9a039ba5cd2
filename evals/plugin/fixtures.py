"""The matrix's fixtures: the session's run, each model's endpoint, the baselines
(syrupy, evals/plugin/snapshots.py) and the drift pass."""

from __future__ import annotations

import contextlib
import sys

import pytest

from evals.config.matrix import cross_precision_pairs, pooled_cases
from evals.plugin import workers
from evals.plugin.selection import selection
from evals.plugin.snapshots import BaselineSnapshot, DriftSnapshot
from evals.run.errors import RunError
from evals.run.selection import drift_test


@pytest.fixture(scope="session")
def run(request):
    """The session's run of the matrix (evals/run/session.py), over its selection."""
    from evals.run.session import MatrixRun

    try:
        with MatrixRun(selection(request.config), terminal_writer(request.config)) as matrix_run:
            yield matrix_run
    except RunError as exc:  # the checks before any engine starts
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def baseline(snapshot, case):
    """The case's baseline snapshot (snapshots/<profile>/<case>.json), compared by the gate."""
    return snapshot.use_extension(BaselineSnapshot.for_profile(case.profile))(name=case.id)


@pytest.fixture
def pooled_pairs(pool, run):
    """The (reference, quantized) case pairs of a pool's quantized precision, over the run."""
    pairs = cross_precision_pairs(run.selection.run_cases)
    taken = {q.id for q in pooled_cases(run.selection.matrix.pools, [q for _, q in pairs]).get(pool, [])}
    return [p for p in pairs if p[1].id in taken]


@pytest.fixture
def accept_baselines(snapshot):
    """Under --snapshot-update, rewrite these cases' baselines with this run's records,
    though each case alone passed (a pooled test found what they did together)."""
    def accept(profile: str, records: dict[str, dict]) -> None:
        for case_id, record in records.items():
            assert snapshot.use_extension(BaselineSnapshot.for_profile(profile, accept=True))(name=case_id) == record

    return accept


@pytest.fixture(scope="session")
def drift(run):
    """The run's drift pass (evals/run/drift_pass.py): its sequences and tokenizers made once."""
    from evals.run.drift_pass import DriftPass

    return DriftPass(run.selection, run.weights, run.stores, run.artifacts.dir)


@pytest.fixture
def drift_baseline(snapshot, drift_of, request):
    """The precision's drift baseline (snapshots/<profile>/drift-<precision>.json)."""
    profile = selection(request.config).profile
    return snapshot.use_extension(DriftSnapshot.for_profile(profile))(name=drift_test(drift_of))


@pytest.fixture(scope="session")
def engine(request, run):
    """Where one precision's requests go, opened once for all of its cases."""
    with run.servers.endpoint(request.param) as endpoint:
        yield endpoint


def terminal_writer(config):
    """Progress lines on the terminal, past pytest's output capture (xdist workers: stderr)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")
    prefix = f"[{workers.worker_name(config)}] " if workers.is_worker(config) else ""

    def write(line: str) -> None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter is not None and not prefix:
                reporter.write_line(line)
            else:
                print(prefix + line, file=sys.stderr, flush=True)

    return write
