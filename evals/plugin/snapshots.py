"""syrupy extensions: where the suite's snapshots live, how they are written, and how a
record is compared with one (the gate, evals/gate/baselines.py: not string equality)."""

from __future__ import annotations

import json

from syrupy.extensions.json import JSONSnapshotExtension
from syrupy.data import SnapshotCollections
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from evals.artifacts.jsonio import DamagedFile, fields_of
from evals.config.paths import snapshots_dir
from evals.gate import baselines
from evals.artifacts.types import Record
from evals.gate.records import GateResult



class _NamedFiles:
    """Snapshots named by what they hold (a case id, a profile), not by the test.

    syrupy's unused-snapshot cleanup relates files to tests by name; it would
    count other cases' baselines (and the seed reference beside them) as unused
    and delete them on a partial `--snapshot-update`. These files are found
    only by name, so there is nothing to clean up: the matrix config says
    which cases exist."""

    def discover_snapshots(self, *, test_location, ignore_extensions=None) -> SnapshotCollections:
        return SnapshotCollections()

    @classmethod
    def get_snapshot_name(cls, *, test_location, index=0) -> str:
        return str(index)


class PlanSnapshot(_NamedFiles, JSONSnapshotExtension):
    """snapshots/plan/<profile>.json: the rendered GPU plan of a profile."""

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(snapshots_dir() / "plan")


class _GatedFile(_NamedFiles, SingleFileSnapshotExtension):
    """snapshots/<profile>/<name>.json, one readable file per name. The serializer writes
    sorted, indented JSON; the comparator is a statistical test (`_result`), not string
    equality, so a rerun within it matches and its file stays untouched, even under
    --snapshot-update."""

    profile = "tiny"
    file_extension = "json"
    _write_mode = WriteMode.TEXT
    _what = "baseline"

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(snapshots_dir() / cls.profile)

    def serialize(self, data, **kwargs) -> str:
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def _result(self, serialized_data: str, snapshot_data: str):
        raise NotImplementedError

    @staticmethod
    def _name(current: dict) -> str:
        raise NotImplementedError

    def matches(self, *, serialized_data, snapshot_data) -> bool:
        try:
            return self._result(serialized_data, snapshot_data).passed
        except DamagedFile:
            return False  # --snapshot-update replaces it; otherwise diff_lines says where it is

    def diff_lines(self, serialized_data, snapshot_data):
        current = json.loads(serialized_data)
        if not snapshot_data:
            yield (f"No {self._what} for {self._name(current)} in {snapshots_dir() / self.profile}. Create it with: "
                   f"pytest evals --profile {self.profile} --snapshot-update")
            return
        try:
            yield from self._lines(self._result(serialized_data, snapshot_data), current)
        except DamagedFile as exc:
            yield f"{exc}. Replace it with this run's record: pytest evals --profile {self.profile} --snapshot-update"


class BaselineSnapshot(_GatedFile):
    """snapshots/<profile>/<case>.json: one readable baseline per case, compared by the
    statistical gate. The `accept` variant never matches: a pooled test that fails under
    --snapshot-update rewrites its cases' baselines through it, though each case alone
    passed (evals/suite/test_precision.py)."""

    accept = False

    @classmethod
    def for_profile(cls, profile: str, accept: bool = False) -> type["BaselineSnapshot"]:
        return type(f"BaselineSnapshot_{profile}{'_accept' if accept else ''}", (cls,), {"profile": profile, "accept": accept})

    def matches(self, *, serialized_data, snapshot_data) -> bool:
        return not self.accept and super().matches(serialized_data=serialized_data, snapshot_data=snapshot_data)

    def serialize(self, data: Record, **kwargs) -> str:
        return data.text

    def _result(self, serialized_data: str, snapshot_data: str) -> GateResult:
        return baselines.judged_text(serialized_data, snapshot_data)

    @staticmethod
    def _name(current: dict) -> str:
        return current["case"]

    @staticmethod
    def _lines(result: GateResult, current: dict):
        return result.lines(current["case"])


class DriftSnapshot(_GatedFile):
    """snapshots/<profile>/drift-<precision>.json: a precision's token-level drift against
    the reference, compared by the drift test (evals/drift/gate.py)."""

    _what = "drift baseline"

    @classmethod
    def for_profile(cls, profile: str) -> type["DriftSnapshot"]:
        return type(f"DriftSnapshot_{profile}", (cls,), {"profile": profile})

    def _result(self, serialized_data: str, snapshot_data: str):
        from evals.drift.gate import judge

        current = json.loads(serialized_data)
        path = snapshots_dir() / self.profile / f"drift-{current['precision']}.json"
        try:
            baseline = json.loads(snapshot_data)
        except (ValueError, RecursionError) as exc:
            raise DamagedFile(f"{path}: an unreadable drift baseline, not valid JSON ({exc})") from None
        with fields_of(path):
            return judge(current, baseline)

    @staticmethod
    def _name(current: dict) -> str:
        return current["precision"]

    @staticmethod
    def _lines(result, current: dict):
        return result.lines(current)
