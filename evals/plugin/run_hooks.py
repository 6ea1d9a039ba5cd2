"""A pytest session's run as a whole: under xdist, the controller's choices every
worker must share (the run folder, the session id, the resolved --resume/--replay
run, a device slot per worker) and the suite's own scheduling (evals/plugin/workers.py);
each case marked ended in this session when its test is over (cross-precision tests
on other workers wait for that); at the end, the report (evals/report/), or, if no
case started, no run folder left behind. A file these hooks cannot write (a full disk)
is named in the summary and makes the run's exit status non-zero, never an
INTERNALERROR. Registered by evals/plugin/hooks.py."""

from __future__ import annotations

import contextlib

import pytest

from evals.artifacts.jsonio import reason
from evals.artifacts.run_folder import mark_ended
from evals.plugin import workers
from evals.plugin.selection import schedule, selection
from evals.run.selection import drift_test


class RunHooks:
    def __init__(self, config):
        self.config = config
        self.report: dict | None = None
        self.unwritten: list[str] = []  # what these hooks could not write, each naming its file
        self.slots = workers.DeviceSlots()

    @property
    def run_dir(self):
        return selection(self.config).run_dir

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        chosen = selection(self.config)
        node.workerinput["suite_run_dir"] = str(chosen.run_dir)
        node.workerinput["suite_session"] = chosen.session
        for flag in ("resume", "replay"):
            value = getattr(chosen, flag)
            node.workerinput[f"suite_{flag}"] = None if value is None else str(value)
        stored = chosen.drift_reference
        node.workerinput["suite_drift_reference"] = None if stored is None else str(stored.dir)
        node.workerinput["suite_device_slot"] = self.slots.take(node.gateway.id)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        self.slots.release(node.gateway.id)  # a replacement worker takes this slot

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        return workers.make_scheduler(config, log)

    @property
    def _controls_run(self) -> bool:
        """The process that owns the run: the xdist controller, or the only process."""
        return not workers.is_worker(self.config) and not self.config.getoption("collectonly")

    def pytest_collection_finish(self, session):
        """The cases this session will run, after -k/-m deselection (cross-precision
        tests wait only for those)."""
        params = [item.callspec.params for item in session.items if hasattr(item, "callspec")]
        schedule(self.config, {p["case"].id for p in params if "case" in p}
                 | {drift_test(p["drift_of"]) for p in params if "drift_of" in p})

    def pytest_runtest_logreport(self, report):
        """A case's test is over. Under xdist the controller hears of it too, even when
        its worker crashed (phase "???")."""
        test = workers.test_of(report.nodeid)
        ended = {"test_case": lambda case: case, "test_drift": drift_test}.get(test[0]) if test else None
        if ended and report.when in ("teardown", "???") and (self.run_dir / "manifest.json").exists():
            try:
                mark_ended(self.run_dir, ended(test[1]), report.outcome, selection(self.config).session)
            except OSError as exc:  # a full disk: said at the end, and the run fails; its tests go on
                self.unwritten.append(f"{report.nodeid}: its end could not be marked: {reason(exc)}")

    def pytest_sessionfinish(self, session):
        """The run's report, once every worker is done. A file that could not be written
        (here or when a test ended) fails the run: exit status 1 where it would be 0."""
        try:
            self._finish()
        finally:
            if self.unwritten and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish(self) -> None:
        if not self._controls_run:
            return
        if not (self.run_dir / "manifest.json").exists():  # no case started: no empty run folder
            with contextlib.suppress(OSError):  # an empty folder left is no lost result
                if self.run_dir.is_dir() and not any(self.run_dir.iterdir()):
                    self.run_dir.rmdir()
            return
        from evals.report.build import build_report, save_report

        try:
            report = build_report(self.run_dir)
            self.report = {"report": report, "paths": save_report(report, self.run_dir)}
        except OSError as exc:  # a full disk: the run fails, the summary names the file
            self.unwritten.append(f"the report could not be written in {self.run_dir}: {reason(exc)}")
        except Exception as exc:  # the run's verdict stands; the summary says the report failed
            self.report = {"error": f"{type(exc).__name__}: {exc}"}

    def pytest_terminal_summary(self, terminalreporter):
        if self.unwritten:
            terminalreporter.section("files not written", red=True)
            for line in self.unwritten:
                terminalreporter.write_line(line, red=True)
            terminalreporter.write_line(f"the run fails (exit status 1): free space under {self.run_dir.parent}, "
                                        "then resume it or run it again", red=True)
        if self.report is None:
            return
        terminalreporter.section("accuracy report")
        if "error" in self.report:
            terminalreporter.write_line(f"the report could not be written: {self.report['error']}", red=True)
            return
        from evals.report.markdown import accuracy_tables

        for line in accuracy_tables(self.report["report"]):
            terminalreporter.write_line(line)
        terminalreporter.write_line("report: " + ", ".join(str(p) for p in self.report["paths"].values()))
