"""Scale-out on one node with pytest-xdist: `pytest evals -m gpu -n 3`.

The suite schedules the workers itself (`ModelScheduling`, whatever `--dist` says):
each model's cases are one unit of work, so one worker runs them all against one
server, the reference precision first; the cross-precision tests are one more unit,
handed out last, when no model is left to hand out. Its tests wait for records from
cases still running on other workers; those workers were told to finish, so they
never wait for anything in turn. Each worker owns a slot of a server's GPUs, tensor x data
parallel (slot 0 -> GPUs 0,1; slot 1 -> 2,3 at TP=2) out of the devices the whole run may
use (CUDA_VISIBLE_DEVICES of the pytest command, else all); a worker that replaces a
crashed one takes over the free slot.
"""

from __future__ import annotations

import os
import re

CROSS_PRECISION = "cross-precision"
# The suite's tests are parametrized by what they test: a case id, a precision, a precision-pool.
_PARAM = re.compile(r"::(?P<test>test_\w+)\[(?P<id>[^\]]+)\]$")


def test_of(nodeid: str) -> tuple[str, str] | None:
    """(test function, its parameter id) of a suite test's node id, e.g. ("test_case",
    "fp8-aime24-think"); None for a test without one. Under xdist the controller knows a
    test only by its node id."""
    match = _PARAM.search(nodeid)
    return (match["test"], match["id"]) if match else None


class DeviceError(RuntimeError):
    """More workers than sets of GPUs."""


def is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def worker_name(config) -> str | None:
    return config.workerinput["workerid"] if is_worker(config) else None


def worker_slot(config) -> int | None:
    """The worker's device slot (given by the controller); None without xdist."""
    return int(config.workerinput["suite_device_slot"]) if is_worker(config) else None


def worker_devices(slot: int, gpus: int, visible: str | None = None, device_count: int | None = None) -> str:
    """CUDA_VISIBLE_DEVICES for a slot: its own `gpus` devices (a server's tensor x data parallel size).

    `visible` is the run's CUDA_VISIBLE_DEVICES (None: devices 0..device_count-1);
    `device_count` bounds the devices when it is known."""
    if visible is not None and visible.strip():
        pool = [d.strip() for d in visible.split(",") if d.strip()]
    else:
        pool = [str(i) for i in range(device_count)] if device_count is not None else None
    first, last = slot * gpus, (slot + 1) * gpus
    if pool is None:
        return ",".join(str(i) for i in range(first, last))
    if last > len(pool):
        raise DeviceError(
            f"xdist worker slot {slot} needs devices {first}-{last - 1} of {pool} ({gpus} a server: tensor x "
            f"data parallel): run at most {len(pool) // gpus} worker(s) (-n)"
        )
    return ",".join(pool[first:last])


def server_devices(config, gpus: int) -> dict[str, str]:
    """The environment that pins this worker's servers to its GPUs ({} without xdist)."""
    slot = worker_slot(config)
    if slot is None:
        return {}
    count = None
    try:
        import torch

        if torch.cuda.is_available():
            count = torch.cuda.device_count()
    except Exception:  # no usable torch: the pool is what CUDA_VISIBLE_DEVICES says
        pass
    return {"CUDA_VISIBLE_DEVICES": worker_devices(slot, gpus, os.environ.get("CUDA_VISIBLE_DEVICES"), count)}


class DeviceSlots:
    """The controller's book of which worker holds which device slot."""

    def __init__(self):
        self.held: dict[str, int] = {}  # worker id -> slot

    def take(self, worker: str) -> int:
        slot = next(i for i in range(len(self.held) + 1) if i not in self.held.values())
        self.held[worker] = slot
        return slot

    def release(self, worker: str) -> None:
        self.held.pop(worker, None)


def unit_of(nodeid: str) -> str:
    """The unit of work of a test: its model's precision, or the cross-precision unit."""
    test = test_of(nodeid)
    if test is None:
        return nodeid.rsplit("::", 1)[0]
    if test[0].startswith("test_recovery"):
        return CROSS_PRECISION
    return test[1].split("-", 1)[0]  # the precision a case id, a drift test or a pool starts with


def make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ModelScheduling(LoadScopeScheduling):
        """One unit per model, in collection order (the reference model first); the
        cross-precision unit last, once no model is left to hand out."""

        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

        def schedule(self) -> None:
            self.config.option.loadscopereorder = False  # keep collection order
            super().schedule()

        def _assign_work_unit(self, node) -> None:
            if not self.workqueue:
                return
            ready = [unit for unit in self.workqueue if unit != CROSS_PRECISION]
            unit = ready[0] if ready else CROSS_PRECISION
            self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)
            if unit == CROSS_PRECISION:
                # Nothing is left for the others: they finish what they hold (an xdist
                # worker runs its last test only once told there is no more to come).
                for other in self.nodes:
                    if other is not node and not other.shutting_down:
                        other.shutdown()

    return ModelScheduling(config, log)
