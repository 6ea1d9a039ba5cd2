"""pytest wiring of the matrix: options, one case per test, one server per model.

    pytest evals                       # the tiny CPU matrix (default without a usable GPU)
    pytest evals -m gpu                # the Qwen3-32B matrix, profile full
    pytest evals --profile seed -m gpu # the seed report's settings
"""

from __future__ import annotations

import dataclasses
import signal

import pytest

from evals import engine as engines
from evals.config import ConfigError, load_matrix

_STASH = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("matrix", "Qwen3 quantization matrix")
    group.addoption("--profile", help="seed, full or tiny (default: full with a usable GPU or with -m gpu, else tiny)")
    group.addoption("--precision", action="append", default=[], help="only these precisions (repeat or comma-separate)")
    group.addoption("--task", action="append", default=[], help="only these tasks")
    group.addoption("--mode", action="append", default=[], help="only these modes")
    group.addoption("--limit", type=int, help="items per task, replacing the profile's limits")
    group.addoption("--vllm-url", action="append", default=[], metavar="PRECISION=URL",
                    help="test a server that is already running for this precision")
    group.addoption("--artifacts", default="artifacts", help="root folder of run artifacts (default: artifacts)")
    group.addoption("--require-gpu", action="store_true", help="fail, instead of skip, when GPU cases cannot run")
    group.addoption("--gate-alpha", type=float, default=None, help="significance level of the baseline gate (default 0.01)")
    group.addoption("--gate-min-effect", type=float, default=None,
                    help="minimum accuracy change the gate fails on, e.g. 0.03 for 3 points (default: per task, else 0.03)")
    group.addoption("--server-timeout", type=float, default=engines.READY_TIMEOUT_S, help="seconds to wait for a vLLM server")


def _split(values: list[str]) -> list[str]:
    return [v for value in values for v in value.split(",") if v]


def _select(config) -> dict:
    try:
        matrix = load_matrix()
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    profile = config.getoption("profile")
    if profile is None:
        profile = "full" if config.getoption("markexpr", "") == "gpu" or engines.gpu_status(1)[0] else "tiny"
    if profile not in matrix.profiles:
        raise pytest.UsageError(f"--profile {profile!r}: choose one of {sorted(matrix.profiles)}")
    cases = matrix.cases(profile)
    for flag, attr in (("precision", "precision"), ("task", "task.name"), ("mode", "mode.name")):
        wanted = _split(config.getoption(flag))
        known = sorted({_attr(c, attr) for c in cases})
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise pytest.UsageError(f"--{flag} {','.join(unknown)}: not in profile {profile!r}; choose from {known}")
        if wanted:
            cases = [c for c in cases if _attr(c, attr) in wanted]
    limit = config.getoption("limit")
    if limit is not None:
        if limit < 1:
            raise pytest.UsageError(f"--limit must be at least 1, got {limit}")
        cases = [dataclasses.replace(c, limit=limit) for c in cases]
    remote = {}
    for spec in config.getoption("vllm_url"):
        precision, sep, url = spec.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise pytest.UsageError(f"--vllm-url expects PRECISION=http://HOST:PORT, got {spec!r}")
        if precision not in {c.precision for c in matrix.cases(profile)}:
            raise pytest.UsageError(f"--vllm-url {spec!r}: {precision!r} is not a precision of profile {profile!r}")
        remote[precision] = url
    return {"matrix": matrix, "profile": profile, "cases": cases, "remote": remote}


def _attr(case, dotted: str):
    for part in dotted.split("."):
        case = getattr(case, part)
    return case


def pytest_configure(config):
    # CI cancels with SIGTERM: unwind like Ctrl-C, so every server is stopped.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def selection(config) -> dict:
    if _STASH not in config.stash:
        config.stash[_STASH] = _select(config)
    return config.stash[_STASH]


def pytest_generate_tests(metafunc):
    if "pair" in metafunc.fixturenames:
        pairs = cross_precision_pairs(selection(metafunc.config)["cases"])
        metafunc.parametrize(
            "pair", [pytest.param(p, id=p[1].id, marks=[pytest.mark.gpu] if p[1].gpu else []) for p in pairs]
        )
    if "seed_case" in metafunc.fixturenames:
        from evals.seed_reference import load_reference

        chosen = selection(metafunc.config)
        cases = [c for c in chosen["cases"] if chosen["profile"] == "seed" and c.id in load_reference()]
        metafunc.parametrize("seed_case", [pytest.param(c, id=c.id, marks=[pytest.mark.gpu]) for c in cases])
    if "case" not in metafunc.fixturenames:
        return
    chosen = selection(metafunc.config)
    params = [
        pytest.param(c.precision, c, id=c.id, marks=[pytest.mark.gpu] if c.gpu else [])
        for c in chosen["cases"]
    ]
    # Session scope: pytest runs all of one model's cases together and tears
    # its server down before the next model's server starts.
    metafunc.parametrize(["engine", "case"], params, indirect=["engine"], scope="session")


REFERENCE_PRECISION = "bf16"


def cross_precision_pairs(cases) -> list[tuple]:
    """(bf16 case, quantized case) for each task and mode with both selected."""
    by_id = {c.id: c for c in cases}
    return [
        (by_id[f"{REFERENCE_PRECISION}-{c.task.name}-{c.mode.name}"], c)
        for c in cases
        if c.precision != REFERENCE_PRECISION and f"{REFERENCE_PRECISION}-{c.task.name}-{c.mode.name}" in by_id
    ]


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
    chosen = selection(config)
    gpu_items = [i for i in items if i.get_closest_marker("gpu") and i.callspec.params.get("engine") not in chosen["remote"]]
    if not gpu_items:
        return
    tp = max(c.server.get("tensor_parallel_size", 1) for c in chosen["cases"])
    usable, reason = engines.gpu_status(tp)
    if usable:
        return
    if config.getoption("require_gpu"):
        raise pytest.UsageError(f"--require-gpu: {len(gpu_items)} GPU tests cannot run: {reason}")
    skip = pytest.mark.skip(reason=f"no usable GPU: {reason} (or pass --vllm-url PRECISION=URL)")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def run(request):
    from evals.session import MatrixRun

    chosen = selection(request.config)
    with MatrixRun(chosen, request.config) as matrix_run:
        yield matrix_run


@pytest.fixture
def baseline(snapshot, case):
    """The case's baseline snapshot (snapshots/<profile>/<case>.json), compared by the gate."""
    from evals.snapshots import BaselineSnapshot

    return snapshot.use_extension(BaselineSnapshot.for_profile(case.profile))(name=case.id)


@pytest.fixture(scope="session")
def engine(request, run):
    """The server of one precision, started once for all of its cases."""
    with run.server(request.param) as server:
        yield server


def pytest_ignore_collect(collection_path, config):
    # The seed report's table is the reference of the seed profile only.
    if collection_path.name == "test_seed_reference.py":
        return selection(config)["profile"] != "seed" or None
    return None
