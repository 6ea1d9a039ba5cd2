"""Fixtures and run settings shared by the suite's own tests."""

import pytest

# Most of the time goes to child `pytest evals` runs and vLLM engines, each mostly on one
# core and often waiting (a start, a child's imports): on CI's 2-core machines three xdist
# workers keep both cores busier than two (531 s against 579 s for `pytest tests` on one clone,
# one run after the other; within the noise of later fresh clones, 580 s and 598 s).
DEFAULT_WORKERS = 3


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns -n into workers
def pytest_cmdline_main(config):
    """`pytest tests` runs on DEFAULT_WORKERS xdist workers, a module at a time per worker (the
    engine modules share a run or a server among their tests), unless -n or --dist says
    otherwise (`-n 0`: one process, e.g. for --pdb)."""
    option = config.option
    if getattr(option, "numprocesses", 0) is None and option.dist == "no" and not option.usepdb \
            and not hasattr(config, "workerinput"):
        option.numprocesses, option.dist = DEFAULT_WORKERS, "loadscope"
        option.loadscopereorder = False  # keep the order below, not the most tests first


def pytest_collection_modifyitems(items):
    """Modules of engine tests first: each takes minutes, so the workers start them early and
    the quick modules fill the gaps, instead of one long module starting last."""
    items.sort(key=lambda item: item.get_closest_marker("engine") is None)  # stable: file order kept otherwise


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, worker_id):
    """A finished run of the whole tiny matrix with every generation kept (tests/kept_run.py).
    Read only: tests work on copies. Made at most once per session, whatever the workers."""
    from evals.artifacts.locking import locked
    from tests.kept_run import find_or_make

    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # the base every worker's temporary folder is under
    with locked(shared / "tiny-run.lock"):
        return find_or_make(shared / "tiny-run")
