"""xdist scale-out: each worker's own GPUs by slot, and the suite's scheduling (one
worker per model, cross-precision tests only once every case is done), simulated
with xdist's own scheduler machinery and fake workers."""

from types import SimpleNamespace

import pytest

from evals.config.matrix import load_matrix
from evals.plugin.workers import CROSS_PRECISION, DeviceError, DeviceSlots, make_scheduler, unit_of, worker_devices


def test_each_slot_gets_its_own_tensor_parallel_sized_set():
    assert [worker_devices(i, 2, device_count=8) for i in range(4)] == ["0,1", "2,3", "4,5", "6,7"]
    assert [worker_devices(i, 1, device_count=2) for i in range(2)] == ["0", "1"]
    assert {worker_devices(0, 2), worker_devices(1, 2)} == {"0,1", "2,3"}  # device count unknown


def test_the_sets_come_from_the_devices_the_run_may_use():
    assert worker_devices(0, 2, visible="4,5,6,7") == "4,5"
    assert worker_devices(1, 2, visible="4, 5, 6, 7") == "6,7"


def test_more_workers_than_sets_is_an_error_that_says_how_many_fit():
    with pytest.raises(DeviceError, match=r"slot 2 needs devices 4-5 .* run at most 2 worker\(s\) \(-n\)"):
        worker_devices(2, 2, device_count=4)


def test_a_replacement_worker_takes_the_free_slot():
    slots = DeviceSlots()
    assert [slots.take("gw0"), slots.take("gw1")] == [0, 1]
    slots.release("gw0")  # crashed
    assert slots.take("gw2") == 0


def test_units_of_work():
    assert unit_of("evals/suite/test_matrix.py::test_case[fp8-aime24-think]") == "fp8"
    assert unit_of("evals/suite/test_seed_reference.py::test_seed_reference[bf16-aime24-think]") == "bf16"
    assert unit_of("evals/suite/test_recovery.py::test_recovery[nvfp4-math500-think]") == CROSS_PRECISION
    assert unit_of("evals/suite/test_recovery.py::test_recovery_pooled[nvfp4-all]") == CROSS_PRECISION
    assert unit_of("evals/suite/test_precision.py::test_precision[nvfp4-aime_thinking]") == "nvfp4"  # after its own cases


class FakeWorker:
    def __init__(self, name):
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.queue: list[int] = []

    def send_runtest_some(self, indices):
        self.queue += indices

    def shutdown(self):
        self.shutting_down = True


MATRIX = load_matrix()


def collection(profile: str = "full") -> list[str]:
    """Test ids in collection order, as `pytest evals` collects them (reference precision first)."""
    cases = sorted(MATRIX.cases(profile), key=lambda c: c.precision != "bf16")
    pools = [f"{p}-{name}" for p in dict.fromkeys(c.precision for c in cases) for name in MATRIX.pools]
    return ([f"evals/suite/test_matrix.py::test_case[{c.id}]" for c in cases]
            + [f"evals/suite/test_precision.py::test_precision[{pool}]" for pool in pools]
            + [f"evals/suite/test_recovery.py::test_recovery[{c.id}]" for c in cases if c.precision != "bf16"]
            + [f"evals/suite/test_recovery.py::test_recovery_pooled[{pool}]" for pool in pools if not pool.startswith("bf16")])


def needs(test: str, profile: str = "full") -> set[str]:
    """The cases whose records a test waits for: a pool's, and for cross-precision tests
    BF16's same tasks and modes too."""
    name = test.split("[", 1)[1].rstrip("]")
    if "test_recovery_pooled" in test or "test_precision" in test:
        precision, pool = name.split("-", 1)
        cases = [c.id for c in MATRIX.cases(profile) if c.precision == precision and MATRIX.pools[pool].selects(c)]
    elif "test_recovery" in test:
        cases = [name]
    else:
        return set()
    if "test_recovery" in test:
        cases += ["bf16-" + c.split("-", 1)[1] for c in cases]
    return {f"evals/suite/test_matrix.py::test_case[{c}]" for c in cases}


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_every_model_on_one_worker_and_no_worker_ever_deadlocks(workers):
    """Workers as xdist runs them: a worker runs its last queued test only once told no
    more will come (shutdown); a cross-precision test blocks until its two cases are done."""
    tests = collection()
    config = SimpleNamespace(getvalue=lambda name: [f"{workers}*popen"], option=SimpleNamespace(loadscopereorder=True))
    scheduler = make_scheduler(config, None)
    nodes = [FakeWorker(f"gw{i}") for i in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
        scheduler.add_node_collection(node, tests)
    scheduler.schedule()
    ran: dict[str, str] = {}

    def runnable(node):
        if not node.queue or (len(node.queue) < 2 and not node.shutting_down):
            return False
        return needs(tests[node.queue[0]]) <= set(ran)

    while len(ran) < len(tests):
        ready = [n for n in nodes if runnable(n)]
        assert ready, f"deadlock: {len(tests) - len(ran)} tests left, queues {[n.queue for n in nodes]}"
        node = ready[len(ran) % len(ready)]  # workers take turns
        index = node.queue.pop(0)
        assert tests[index] not in ran
        ran[tests[index]] = node.gateway.id
        scheduler.mark_test_complete(node, index)
        if scheduler.tests_finished:  # what xdist's controller does then
            for n in nodes:
                n.shutdown()
    for precision in ("bf16", "fp8", "nvfp4"):
        assert len({w for t, w in ran.items() if f"test_case[{precision}-" in t}) == 1
    assert len({w for t, w in ran.items() if "test_case" in t}) == min(workers, 3)
    assert len({w for t, w in ran.items() if "test_recovery" in t}) == 1
    for precision in ("bf16", "fp8", "nvfp4"):  # a precision's pooled tests run on its cases' worker
        workers_of = {w for t, w in ran.items() if f"test_case[{precision}-" in t or f"test_precision[{precision}-" in t}
        assert len(workers_of) == 1
