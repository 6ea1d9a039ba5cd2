"""Which cases a pytest session runs, and where its artifacts go: from the matrix config
and the command line (--profile, --precision, --task, --mode, --limit, --vllm-url,
--resume, --replay, the gate's options, --stall-timeout). Every bad option is a usage
error that names the flag, raised before anything runs or is written."""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import sys
import uuid
import warnings
from pathlib import Path

import pytest

from evals.artifacts import locking
from evals.artifacts.jsonio import DamagedFile
from evals.artifacts.run_folder import latest_run, new_run_dir, now, read_manifest
from evals.config.matrix import SMOKE_ITEMS, ConfigError, gpus_per_server, load_matrix
from evals.config.paths import snapshots_dir
from evals.engine import client, facts
from evals.engine import server as engines
from evals.engine.endpoints import base_url
from evals.gate import baselines
from evals.gate.policy import Policy
from evals.plugin import workers
from evals.run.plans import planned_cases
from evals.run.progress import DEFAULT_INTERVAL_S
from evals.run.selection import Selection, Worker

_STASH = pytest.StashKey[Selection]()


def selection(config) -> Selection:
    if _STASH not in config.stash:
        config.stash[_STASH] = _select(config)
        # Every pool this process makes (the generation pass's, a case's own, drift's) takes the session's bound.
        client.use_stall_timeout(config.stash[_STASH].stall_timeout)
    return config.stash[_STASH]


def schedule(config, tests: set[str]) -> Selection:
    """The session's selection with the tests it runs after -k/-m (case ids, drift tests)."""
    config.stash[_STASH] = dataclasses.replace(selection(config), scheduled=frozenset(tests))
    return config.stash[_STASH]


def _split(values: list[str]) -> list[str]:
    return [v for value in values for v in value.split(",") if v]


def _source_run(config, flag: str) -> tuple[Path | None, dict | None]:
    """The run folder named by --resume or --replay, and its manifest. xdist workers
    take the folder the controller resolved ('last' must mean the same run for all)."""
    if workers.is_worker(config):
        value = config.workerinput.get(f"suite_{flag}")
    else:
        value = config.getoption(flag)
    if value is None:
        return None, None
    try:
        run = latest_run(Path(config.getoption("artifacts"))) if value == "last" else Path(value)
    except FileNotFoundError as exc:
        raise pytest.UsageError(f"--{flag} last: {exc}") from None
    try:
        manifest = read_manifest(run)
    except (OSError, DamagedFile) as exc:
        raise pytest.UsageError(f"--{flag} {value}: not a run folder with a readable manifest.json ({exc})") from None
    if manifest.get("replay_of"):
        raise pytest.UsageError(f"--{flag} {run}: that folder is a replay of {manifest['replay_of']}; name that run instead")
    return run, manifest


def _select(config) -> Selection:
    try:
        matrix = load_matrix()
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    _check_artifacts(config)
    resume, resumed = _source_run(config, "resume")
    replay, replayed = _source_run(config, "replay")
    if resume and replay:
        raise pytest.UsageError("--resume and --replay: choose one")
    if replay and config.getoption("vllm_url"):
        raise pytest.UsageError("--replay uses no engine: drop --vllm-url")
    source = resumed or replayed
    profile = config.getoption("profile")
    if source is not None:
        flag = "--resume" if resume else "--replay"
        if profile is not None and profile != source["profile"]:
            raise pytest.UsageError(f"{flag}: that run is of profile {source['profile']!r}, not --profile {profile!r}")
        profile = source["profile"]
    if profile is None:
        profile = "full" if config.getoption("markexpr", "") == "gpu" or facts.gpu_status(1)[0] else "tiny"
    if profile not in matrix.profiles:
        raise pytest.UsageError(f"--profile {profile!r}: choose one of {sorted(matrix.profiles)}")
    cases = matrix.cases(profile)
    if source is not None:  # that run's cases and limit, unless the command narrows them
        gone = sorted(set(source["cases"]) - {c.id for c in cases})
        if gone:
            warnings.warn(f"{flag} {resume or replay}: {len(gone)} case(s) of that run are no longer in profile "
                          f"{profile!r} of {matrix.source} and are left out: {', '.join(gone)}", stacklevel=2)
        cases = [c for c in cases if c.id in set(source["cases"])]
    run_cases = cases  # a resumed run's cases, whatever this session narrows them to (a replay's folder is new)
    for flag, attr in (("precision", "precision"), ("task", "task.name"), ("mode", "mode.name")):
        wanted = _split(config.getoption(flag))
        known = sorted({_attr(c, attr) for c in cases})
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise pytest.UsageError(f"--{flag} {','.join(unknown)}: not in profile {profile!r}; choose from {known}")
        if wanted:
            cases = [c for c in cases if _attr(c, attr) in wanted]
    if resume is None:
        run_cases = cases
    smoke = bool(config.getoption("smoke", False))
    if smoke and (resume or replay or config.getoption("update_snapshots", False)):
        raise pytest.UsageError("--smoke is a run of its own, with baselines of its own: drop --resume, --replay and "
                                "--snapshot-update")
    smoke = smoke or bool((source or {}).get("smoke"))  # a resumed smoke run stays one
    limit = _limit(config, source, "--resume" if resume else "--replay")
    if smoke and limit is None:
        limit = SMOKE_ITEMS
    update = bool(config.getoption("update_snapshots", False))
    seed = _seed(config, source, "--resume" if resume else "--replay")
    if resume and update and not source.get("baseline"):
        raise pytest.UsageError(f"--resume {resume} --snapshot-update: that run is not a baseline run (its samples are a "
                                "run's, not a baseline's); start a new run with --snapshot-update")
    if smoke and not replay:
        # Every mechanism on a few items, one sample each: it makes its own baselines in
        # its run folder (so every gate test runs, and none compares against a committed one).
        config.option.update_snapshots = update = True
    elif resume and source.get("baseline") and not update:
        # A resumed run keeps its mode: an interrupted baseline run continues as one
        # (its k, its seeds, its kept samples) and writes the baselines when it ends.
        config.option.update_snapshots = update = True
        warnings.warn(f"--resume {resume}: that run is a baseline run (--snapshot-update); it continues as one and "
                      "writes its baselines when it ends", stacklevel=2)
    # A resumed baseline run keeps its --replace-baselines too.
    replace = (smoke and not replay) or bool(config.getoption("replace_baselines")) or bool(resume and update and source.get("replace_baselines"))
    if replace and not update:
        raise pytest.UsageError("--replace-baselines only applies with --snapshot-update")

    def adjust(chosen: list) -> list:
        if limit is not None:
            chosen = [dataclasses.replace(c, limit=limit) for c in chosen]
        if smoke:
            chosen = [c.as_smoke(limit) for c in chosen]
        if (update and not replay) or (source or {}).get("baseline"):
            # A baseline is made with the profile's baseline samples per item; a resumed or
            # replayed run asks for what that run sent (a baseline run's samples, if it was one).
            chosen = [c.as_baseline() for c in chosen]
        return [dataclasses.replace(c, seed=seed) for c in chosen]

    cases, run_cases = adjust(cases), adjust(run_cases)
    # samples per item: planned now from other precisions' baselines, or as the run resumed or replayed was
    kept = None if source is None else source.get("plans", {})
    run_cases, plans = planned_cases(matrix, profile, run_cases, snapshots_dir(), None, kept,
                                     "a smoke run: one sample per item" if smoke else None)
    cases, _ = planned_cases(matrix, profile, cases, snapshots_dir(), None, plans)
    cases, run_cases = (_pin_revisions(config, chosen, profile, source, replay) for chosen in (cases, run_cases))
    if update and limit is not None and not replace:
        _refuse_shrinking(cases, limit)
    remote = _remote(config, matrix, profile)
    policy = _policy(config, matrix, profile)
    drift_reference = _drift_reference(config, matrix, profile, run_cases, source)
    cases, run_cases = tuple(cases), tuple(run_cases)
    folder = run_dir(config, resume, replay, profile)
    if smoke and not replay:  # the smoke run's baselines, beside its results
        os.environ["SUITE_SNAPSHOTS_DIR"] = str(folder / "smoke-baselines")
    gpus = max((gpus_per_server(c.server) for c in cases), default=1)
    worker = Worker(workers.worker_name(config), workers.worker_slot(config), workers.server_devices(config, gpus)) \
        if workers.is_worker(config) else None
    return Selection(matrix, profile, cases, run_cases, limit, remote, resume, replay, replayed, policy, drift_reference,
                     folder, session_id(config), worker=worker,
                     ready_timeout=config.getoption("server_timeout", engines.READY_TIMEOUT_S),
                     progress_interval=config.getoption("progress_interval", DEFAULT_INTERVAL_S),
                     stall_timeout=_stall_timeout(config),
                     launch_ahead=not config.getoption("no_launch_ahead", False), snapshot_update=update, plans=plans,
                     replace_baselines=replace, smoke=smoke)


def _remote(config, matrix, profile: str) -> dict[str, tuple[str, ...]]:
    """--vllm-url PRECISION=URL, repeatable: precision -> the URLs of its servers, in the
    order given (several: replicas of one model, evals/engine/replicas.py)."""
    remote: dict[str, tuple[str, ...]] = {}
    for spec in config.getoption("vllm_url"):
        precision, sep, url = spec.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise pytest.UsageError(f"--vllm-url expects PRECISION=http://HOST:PORT, got {spec!r}")
        if precision not in {c.precision for c in matrix.cases(profile)}:
            raise pytest.UsageError(f"--vllm-url {spec!r}: {precision!r} is not a precision of profile {profile!r}")
        if base_url(url) in map(base_url, remote.get(precision, ())):
            raise pytest.UsageError(f"--vllm-url {spec!r}: given twice for {precision} (each replica once)")
        remote[precision] = (*remote.get(precision, ()), url)
    return remote


def _limit(config, source: dict | None, flag: str) -> int | None:
    """--limit, or the limit of the run resumed or replayed (its kept samples are of those items)."""
    given = config.getoption("limit")
    if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given < 1):
        raise pytest.UsageError(f"--limit must be a positive number of items, got {given!r}")
    if source is None:
        return given
    kept = source.get("limit")
    if given is not None and given != kept:
        was = f"--limit {kept}" if kept is not None else "no --limit"
        raise pytest.UsageError(f"--limit {given}: {flag} of a run made with {was}; drop --limit"
                                + (f" or give {kept}" if kept is not None else ""))
    return kept


def _stall_timeout(config) -> float:
    """--stall-timeout: seconds the engine may go without a token generated or a request answered."""
    given = config.getoption("stall_timeout", client.STALL_TIMEOUT_S)
    if isinstance(given, bool) or not isinstance(given, (int, float)) or not (given > 0 and math.isfinite(given)):
        shown = f"{given:g}" if isinstance(given, (int, float)) else repr(given)
        raise pytest.UsageError(f"--stall-timeout {shown}: seconds the engine may go without generating a token or "
                                f"answering a request must be more than 0 (and finite), e.g. {client.STALL_TIMEOUT_S:g}")
    return float(given)


def _seed(config, source: dict | None, flag: str) -> int:
    """--seed, or the seed offset of the run resumed or replayed (its kept samples were drawn with it)."""
    given = config.getoption("seed", None)
    if source is None:
        return given or 0
    kept = source.get("seed", 0)
    if given is not None and given != kept:
        raise pytest.UsageError(f"--seed {given}: {flag} of a run drawn with --seed {kept}; drop --seed or give {kept}")
    return kept


def _drift_reference(config, matrix, profile: str, run_cases: list, source: dict | None):
    """The stored reference of the drift tests (evals/drift/reference.py) when the run does
    not run the reference precision: --drift-reference, the one a resumed or replayed run
    used, or the newest under --artifacts; None if there is none."""
    from evals.config.matrix import REFERENCE_PRECISION
    from evals.drift import reference

    settings = matrix.drift(profile)
    worker = workers.is_worker(config)
    given = None if worker else config.getoption("drift_reference")  # workers take the controller's
    if settings is None or any(c.precision == REFERENCE_PRECISION for c in run_cases):
        if given:
            why = f"profile {profile!r} has no drift tests" if settings is None else \
                f"this run scores its own {REFERENCE_PRECISION} responses"
            raise pytest.UsageError(f"--drift-reference {given}: {why}; drop the flag")
        return None
    named = config.workerinput.get("suite_drift_reference") if worker else given or (source or {}).get("drift_reference")
    if named is None:
        return None if worker else reference.newest(Path(config.getoption("artifacts")), profile, settings)
    try:
        return reference.load(Path(named), profile, settings)
    except ValueError as exc:
        raise pytest.UsageError(f"--drift-reference {named}: {exc}") from None


def _pin_revisions(config, cases: list, profile: str, source: dict | None, replay) -> list:
    """Hub models at the commits their revisions resolve to (evals/engine/fetch.py): downloaded
    now if this session serves them on its GPUs and they are not on disk; else the commits
    a resumed or replayed run recorded; else as configured (their cases skip without a GPU)."""
    from evals.engine import fetch

    remote = {spec.partition("=")[0] for spec in config.getoption("vllm_url")}
    hub = [c for c in cases if not c.model.is_tiny and c.precision not in remote]
    if not hub:
        return cases
    if not replay and not config.getoption("collectonly") and facts.gpu_status(1)[0]:
        try:  # a remote server's weights are its own: only those served here
            served_here = iter(fetch.pinned(hub, download_missing=not workers.is_worker(config), profile=profile))
        except fetch.FetchError as exc:
            raise pytest.UsageError(str(exc)) from None
        return [next(served_here) if c in hub else c for c in cases]
    recorded = {p: m.get("revision") for p, m in ((source or {}).get("models") or {}).items()}
    return [dataclasses.replace(c, model=dataclasses.replace(c.model, revision=recorded[c.precision]))
            if c in hub and fetch.COMMIT.fullmatch(str(recorded.get(c.precision))) else c for c in cases]


def _refuse_shrinking(cases: list, limit: int) -> None:
    """--limit with --snapshot-update must not replace a committed baseline with a smaller one
    (every normal run after it would be "not comparable")."""
    shrunk = []
    for case in cases:
        try:
            baseline = baselines.read(case.profile, case.id)
        except DamagedFile:
            continue  # --snapshot-update replaces it, and says so
        items = len(baseline.items) if baseline is not None else 0
        if items > limit:
            shrunk.append(f"{case.id} ({items} items)")
    if shrunk:
        listed = ", ".join(shrunk[:10]) + (f" and {len(shrunk) - 10} more" if len(shrunk) > 10 else "")
        raise pytest.UsageError(
            f"--limit {limit} with --snapshot-update would replace committed baselines with fewer items: {listed}. "
            "Drop --limit, or add --replace-baselines if smaller baselines are what you want.")


def session_id(config) -> str:
    """This pytest session's id in the run folder (xdist workers share the controller's)."""
    if workers.is_worker(config):
        return config.workerinput["suite_session"]
    return uuid.uuid4().hex[:12]


def _policy(config, matrix, profile: str) -> Policy:
    """The gate's settings from the matrix config, with the command's overrides checked."""
    settings = matrix.gate
    alpha, margin = config.getoption("gate_alpha"), config.getoption("gate_margin")
    if alpha is not None:
        if not 0 < alpha <= 0.5:
            raise pytest.UsageError(f"--gate-alpha {alpha:g}: the chance that a run under no change fails any test "
                                    "must lie in (0, 0.5], e.g. 0.01")
        settings = dataclasses.replace(settings, alpha=alpha)
    if margin is not None and not 0 < margin < 1:
        hint = f"; {margin:g} looks like points: write {margin / 100:g}" if 1 <= margin < 100 else ""
        raise pytest.UsageError(f"--gate-margin {margin:g}: a share of accuracy in (0, 1), e.g. 0.03 for 3 points{hint}")
    return Policy(settings, matrix.test_counts(profile), bool(config.getoption("gate_strict")), margin)


def _check_artifacts(config) -> None:
    """--artifacts names a folder, or a path where one can be made (xdist workers take the
    controller's run folder)."""
    if workers.is_worker(config):
        return
    root = Path(config.getoption("artifacts"))
    if root.exists() and not root.is_dir():
        raise pytest.UsageError(f"--artifacts {root}: not a folder (a file of that name exists); name the folder "
                                "that holds the run folders (default: artifacts)")


def run_dir(config, resume: Path | None, replay: Path | None, profile: str) -> Path:
    """The run's artifacts folder: the resumed one, the one the xdist controller chose, or a
    new one, created now so that no other run can take it (none for --collect-only). A
    session that writes it holds its lock (`_hold_run`) until it ends."""
    if workers.is_worker(config):
        return Path(config.workerinput["suite_run_dir"])  # the controller holds its lock
    if config.getoption("collectonly"):  # writes nothing
        return resume or Path(config.getoption("artifacts")) / "(not created: --collect-only)"
    if resume:
        _hold_run(config, resume, f"--resume {resume}")
        return resume
    root, suffix = Path(config.getoption("artifacts")), "-replay" if replay else ""
    try:
        folder = new_run_dir(root, profile, suffix)
    except OSError as exc:
        raise pytest.UsageError(f"--artifacts {root}: cannot make a run folder there ({exc})") from None
    _hold_run(config, folder, str(folder))
    return folder


_RUN_LOCK = pytest.StashKey["_RunLock"]()


def _hold_run(config, folder: Path, named: str) -> None:
    """One session writes a run folder at a time: this one holds `<run>/.session.lock` for
    as long as it runs (its xdist workers share it); a usage error names the session that
    already does (its pid, host, start and command)."""
    args = getattr(getattr(config, "invocation_params", None), "args", None)
    command = " ".join(["pytest", *args]) if args is not None else " ".join(sys.argv)
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": now(), "command": command}
    try:
        handle = locking.hold(folder / locking.SESSION_LOCK, holder)
    except locking.Held as exc:
        raise pytest.UsageError(
            f"{named}: another session is writing that run folder: {locking.describe(exc.holder)}. Wait for it to "
            f"end, or stop it (two would start servers on the same devices and write one server log; lock: {exc.path})") from None
    except OSError as exc:
        raise pytest.UsageError(f"{named}: cannot take the run folder's lock {folder / locking.SESSION_LOCK} ({exc})") from None
    config.stash[_RUN_LOCK] = lock = _RunLock(folder / locking.SESSION_LOCK, handle)
    manager = getattr(config, "pluginmanager", None)  # tests/options.py's configs run no session
    if manager is not None:
        manager.register(lock, "suite-run-lock")


class _RunLock:
    """The session's lock on its run folder: held until the process ends. A folder in which
    no case started (no manifest) loses the lock file first, so that evals/plugin/run_hooks.py
    removes the empty folder."""

    def __init__(self, path: Path, handle):
        self.path, self.handle = path, handle

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        if not (self.path.parent / "manifest.json").exists():
            self.path.unlink(missing_ok=True)
            self.handle.close()


def _attr(case, dotted: str):
    for part in dotted.split("."):
        case = getattr(case, part)
    return case
