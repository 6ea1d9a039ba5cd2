"""pytest wiring of the matrix: options, one case per test, one endpoint per model (the
fixtures are in evals/plugin/fixtures.py).

    pytest evals                       # the tiny CPU matrix (default without a usable GPU)
    pytest evals -m gpu                # the Qwen3-32B matrix, profile full
    pytest evals --profile seed -m gpu # the seed report's settings
    pytest evals -m gpu --smoke        # every mechanism in minutes (a profile's first step, evals/plugin/day_one.py)
    pytest evals --resume last         # finish an interrupted run, regenerating nothing it kept
    pytest evals --replay artifacts/RUN  # re-score a run's generations, re-check baselines, no engine
    pytest evals -m gpu -n 3           # one worker per model, each on its own GPUs (evals/plugin/workers.py)
"""

from __future__ import annotations

import signal

import pytest

from evals.config.matrix import REFERENCE_PRECISION, cross_precision_pairs, gpus_per_server, pooled_cases
from evals.engine import facts
from evals.engine.client import STALL_TIMEOUT_S
from evals.engine import server as engines
from evals.plugin import day_one
from evals.plugin.run_hooks import RunHooks
from evals.plugin.selection import selection
from evals.run.errors import RunError
from evals.run.progress import DEFAULT_INTERVAL_S
from evals.run.selection import Selection


def pytest_addoption(parser):
    group = parser.getgroup("matrix", "Qwen3 quantization matrix")
    group.addoption("--profile", help="a profile of evals/config/matrix.yaml: seed, full, tiny, tiny_greedy (default: full "
                    "with a usable GPU or with -m gpu, else tiny)")
    group.addoption("--precision", action="append", default=[], help="only these precisions (repeat or comma-separate)")
    group.addoption("--task", action="append", default=[], help="only these tasks")
    group.addoption("--mode", action="append", default=[], help="only these modes")
    group.addoption("--limit", type=int, help="items per task, replacing the profile's limits")
    group.addoption("--vllm-url", action="append", default=[], metavar="PRECISION=URL",
                    help="test a server that is already running for this precision (repeat the precision for "
                    "replicas of one model: its requests are spread over them)")
    group.addoption("--artifacts", default="artifacts", help="root folder of run artifacts (default: artifacts)")
    group.addoption("--require-gpu", action="store_true", help="fail, instead of skip, when GPU cases cannot run")
    group.addoption("--gate-alpha", type=float, default=None,
                    help="chance that a whole run under no change fails any gate test (default: evals/config/matrix.yaml, 0.01)")
    group.addoption("--gate-margin", type=float, default=None,
                    help="the drop every test must rule out, as a share: 0.03 for 3 points (default: per task and pool)")
    group.addoption("--gate-strict", action="store_true",
                    help="fail inconclusive tests too (those that cannot rule out a drop of the margin)")
    group.addoption("--replace-baselines", action="store_true",
                    help="with --snapshot-update and --limit: replace committed baselines even with fewer items")
    group.addoption("--drift-reference", metavar="RUN",
                    help=f"a run whose {REFERENCE_PRECISION} drift test finished: the drift tests' reference when this run "
                    f"does not run {REFERENCE_PRECISION} (default: the newest such run under --artifacts)")
    group.addoption("--no-launch-ahead", action="store_true",
                    help="CPU models: start each server when its cases begin (default: all of them at the session's start)")
    group.addoption("--server-timeout", type=float, default=engines.READY_TIMEOUT_S, help="seconds to wait for a vLLM server")
    group.addoption("--resume", metavar="RUN", help="continue the run in this artifacts folder ('last': the newest under "
                    "--artifacts), regenerating nothing it kept")
    group.addoption("--replay", metavar="RUN", help="re-score this run's saved generations and re-check the baselines, "
                    "with no engine ('last': the newest under --artifacts)")
    group.addoption("--seed", type=int, default=None, metavar="N",
                    help="draw other samples: offsets every request's seed by N (default 0; a resumed or replayed "
                    "run keeps its own)")
    group.addoption("--smoke", action="store_true",
                    help="every mechanism of a run in minutes: 2 items per task (or --limit), one sample each, "
                    "baselines of its own in the run folder; the first step of a profile with no baselines")
    group.addoption("--progress-interval", type=float, default=DEFAULT_INTERVAL_S,
                    help=f"seconds between progress lines of a case (default {DEFAULT_INTERVAL_S:g})")
    group.addoption("--stall-timeout", type=float, default=STALL_TIMEOUT_S, metavar="SECONDS",
                    help="fail a model's requests when its engine generates no token and answers no request for this "
                    f"long (default {STALL_TIMEOUT_S:g}; waiting in its queue while others progress does not count)")


def pytest_configure(config):
    config.pluginmanager.register(RunHooks(config), "suite-run-hooks")
    config.pluginmanager.register(day_one, "suite-day-one")
    # CI cancels with SIGTERM: unwind like Ctrl-C, so every server is stopped.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def pytest_generate_tests(metafunc):
    if "pair" in metafunc.fixturenames:
        pairs = _selected_pairs(selection(metafunc.config))
        metafunc.parametrize("pair", [pytest.param(p, id=p[1].id, marks=_marks(p[1])) for p in pairs])
    if "pool" in metafunc.fixturenames:
        # One pooled test per precision and pool with a case in this session (ids "fp8-all"); it
        # pools every case of the run (evals/run/gates.py), so a narrowed resume keeps the others in.
        chosen = selection(metafunc.config)
        quantized_only = "pooled_pairs" in metafunc.fixturenames
        cases = [q for _, q in _selected_pairs(chosen)] if quantized_only else chosen.cases
        pools = pooled_cases(chosen.matrix.pools, cases)
        metafunc.parametrize("pool", [pytest.param(key, id="-".join(key), marks=_marks(taken[0])) for key, taken in pools.items()])
    if "seed_case" in metafunc.fixturenames:
        from evals.gate.seed_reference import load_reference

        chosen = selection(metafunc.config)
        cases = [c for c in chosen.cases if chosen.profile == "seed" and c.id in load_reference()]
        metafunc.parametrize("seed_case", [pytest.param(c, id=c.id, marks=_marks(c)) for c in cases])
    if "drift_of" in metafunc.fixturenames:
        # One drift test per precision with a case in this session, the reference's first
        # (it scores its own responses); each runs on its precision's server.
        chosen = selection(metafunc.config)
        wanted = chosen.matrix.drift(chosen.profile) is not None and (not chosen.limit or chosen.smoke)
        first: dict = {}
        for case in sorted(chosen.cases, key=lambda c: c.precision != REFERENCE_PRECISION) if wanted else []:
            first.setdefault(case.precision, case)  # the cases' order, so pytest keeps it
        metafunc.parametrize(["engine", "drift_of"], [pytest.param(p, p, id=p, marks=_marks(c) + _no_reference(chosen))
                                                      for p, c in first.items()], indirect=["engine"], scope="session")
    if "case" not in metafunc.fixturenames:
        return
    chosen = selection(metafunc.config)
    # The reference precision first (under xdist, its unit of work is handed out first).
    cases = sorted(chosen.cases, key=lambda c: c.precision != REFERENCE_PRECISION)
    params = [pytest.param(c.precision, c, id=c.id, marks=_marks(c)) for c in cases]
    # Session scope: pytest runs all of one model's cases together and tears
    # its server down before the next model's server starts.
    metafunc.parametrize(["engine", "case"], params, indirect=["engine"], scope="session")


def _selected_pairs(chosen: Selection) -> list:
    """The session's quantized cases, each with the run's reference case (a resumed run's
    kept one, if this session does not select it)."""
    selected = {c.id for c in chosen.cases}
    return [p for p in cross_precision_pairs(chosen.run_cases) if p[1].id in selected]


def _no_reference(chosen: Selection) -> list:
    """A skip, when drift has nothing to be measured against."""
    if chosen.drift_reference or chosen.runs_reference:
        return []
    return [pytest.mark.skip(reason=f"no {REFERENCE_PRECISION} reference for drift: run {REFERENCE_PRECISION} too, or pass "
                                    f"--drift-reference RUN (a run whose {REFERENCE_PRECISION} drift test finished)")]


def _marks(case) -> list:
    return [pytest.mark.gpu] if case.gpu else []


def pytest_collection_modifyitems(config, items):
    # A cross-precision test with no pair selected (e.g. --precision fp8) is not
    # a test to report as skipped: drop it.
    empty = [
        i for i in items
        if any(m.name == "skip" and "empty parameter set" in str(m.kwargs.get("reason", "")) for m in i.iter_markers())
    ]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [i for i in items if i not in empty]
    _after_their_cases(items)
    chosen = selection(config)
    if chosen.replay:
        return  # a replay needs no engine, so no GPU
    gpu_items = [i for i in items if i.get_closest_marker("gpu") and not _precisions(i) <= set(chosen.remote)]
    if not gpu_items:
        return
    status = facts.gpu_status(max(gpus_per_server(c.server) for c in chosen.cases))
    if status.usable:
        return
    if status.gpus_present:  # GPUs that this install cannot use: a failure, never a run that skips them all
        _cannot_run(config, gpu_items, f"{len(gpu_items)} GPU tests cannot run on this machine's NVIDIA GPUs: "
                    f"{status.reason}. To test a server running elsewhere instead: --vllm-url PRECISION=URL")
    if config.getoption("require_gpu"):
        _cannot_run(config, gpu_items, f"--require-gpu: {len(gpu_items)} GPU tests cannot run: {status.reason}")
    skip = pytest.mark.skip(reason=f"no usable GPU: {status.reason} (or pass --vllm-url PRECISION=URL)")
    for item in gpu_items:
        item.add_marker(skip)


def _cannot_run(config, items, message: str) -> None:
    """Stop the session before any test, with `message`. An xdist controller shows a worker's
    usage error only as an INTERNALERROR without it, but ends the run with a worker's stop reason."""
    if hasattr(config, "workerinput"):
        items[0].session.shouldstop = message
    raise pytest.UsageError(message)


def _after_their_cases(items) -> None:
    """Each precision's drift test right after its last case, while its server is up (the
    reference's scores its responses, so they must all exist)."""
    drift = [i for i in items if "drift_of" in _params(i)]
    rest = [i for i in items if "drift_of" not in _params(i)]
    for item in drift:
        precision = _params(item)["drift_of"]
        last = max((n for n, i in enumerate(rest) if "case" in _params(i) and _params(i)["engine"] == precision),
                   default=len(rest) - 1)
        rest.insert(last + 1, item)
    items[:] = rest


def _params(item) -> dict:
    return item.callspec.params if hasattr(item, "callspec") else {}


def _precisions(item) -> set[str]:
    """The precisions whose results a test needs."""
    params = _params(item)
    if "engine" in params:
        return {params["engine"]}
    if "pair" in params:
        return {case.precision for case in params["pair"]}
    if "pool" in params:  # a pooled cross-precision test needs the reference precision too
        return {params["pool"][0]} | ({REFERENCE_PRECISION} if "pooled_pairs" in item.fixturenames else set())
    if "seed_case" in params:
        return {params["seed_case"].precision}
    return set()


def pytest_ignore_collect(collection_path, config):
    # The seed report's table is the reference of the seed profile only.
    if collection_path.name == "test_seed_reference.py":
        return selection(config).profile != "seed" or None
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A run's error (evals/run/errors.py) fails its test with its message, no traceback."""
    try:
        return (yield)
    except RunError as exc:
        pytest.fail(str(exc), pytrace=False)
