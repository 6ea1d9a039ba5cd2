"""xdist scale-out: each worker's own GPUs by slot, and the suite's scheduling (one
worker per model, cross-precision tests only once every case is done), simulated
with xdist's own scheduler machinery and fake workers."""

from types import SimpleNamespace

import pytest

from evals.config import load_matrix
from evals.workers import CROSS_PRECISION, DeviceError, DeviceSlots, make_scheduler, unit_of, worker_devices


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
    assert unit_of("evals/test_matrix.py::test_case[fp8-aime24-think]") == "fp8"
    assert unit_of("evals/test_seed_reference.py::test_seed_reference[bf16-aime24-think]") == "bf16"
    assert unit_of("evals/test_recovery.py::test_recovery[nvfp4-math500-think]") == CROSS_PRECISION


class FakeWorker:
    def __init__(self, name):
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.queue: list[int] = []

    def send_runtest_some(self, indices):
        self.queue += indices

    def shutdown(self):
        self.shutting_down = True


def collection(profile: str = "full") -> list[str]:
    """Test ids in collection order, as `pytest evals` collects them (reference precision first)."""
    cases = sorted(load_matrix().cases(profile), key=lambda c: c.precision != "bf16")
    return ([f"evals/test_matrix.py::test_case[{c.id}]" for c in cases]
            + [f"evals/test_recovery.py::test_recovery[{c.id}]" for c in cases if c.precision != "bf16"])


def needs(test: str) -> set[str]:
    """A cross-precision test waits for its quantized case and BF16's same task and mode."""
    if "test_recovery" not in test:
        return set()
    case = test.split("[", 1)[1].rstrip("]")
    reference = "bf16-" + case.split("-", 1)[1]
    return {f"evals/test_matrix.py::test_case[{case}]", f"evals/test_matrix.py::test_case[{reference}]"}


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
