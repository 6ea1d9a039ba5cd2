"""syrupy extensions: where the suite's snapshots live and how they are written."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from syrupy.extensions.json import JSONSnapshotExtension
from syrupy.data import SnapshotCollections
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from evals.config.paths import snapshots_dir
from evals.artifacts.jsonio import DamagedFile, fields_of
from evals.gate.records import GateResult, compare, gate_summary, item_counts



@functools.lru_cache(maxsize=16)
def _gate(serialized: str, stored: str, path: Path) -> GateResult:
    """The gate on a record and a baseline file as syrupy hands them over; cached, so the
    artifacts' outcome, syrupy's comparison and its failure message share one comparison.
    A baseline that cannot be read is a DamagedFile naming it."""
    return compare(json.loads(serialized), _parse_baseline(stored, path))


def _parse_baseline(stored: str, path: Path) -> dict:
    try:
        baseline = json.loads(stored)
    except (ValueError, RecursionError) as exc:
        raise DamagedFile(f"{path}: an unreadable baseline, not valid JSON ({exc or type(exc).__name__})") from None
    with fields_of(path):
        if not isinstance(baseline.get("fingerprint"), dict) or not isinstance(baseline["primary"], str):
            raise TypeError("'fingerprint' must be an object and 'primary' a metric name")
        item_counts(baseline)  # every item "correct/k"
    return baseline


def _serialize(record: dict) -> str:
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


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
        return _serialize(data)

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

    @classmethod
    def path(cls, profile: str, case_id: str) -> Path:
        return snapshots_dir() / profile / f"{case_id}.{cls.file_extension}"

    @classmethod
    def _stored(cls, profile: str, case_id: str) -> tuple[Path, str | None]:
        path = cls.path(profile, case_id)
        try:
            return path, path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return path, None
        except (OSError, UnicodeDecodeError) as exc:
            raise DamagedFile(f"{path}: an unreadable baseline ({exc})") from None

    @classmethod
    def read(cls, profile: str, case_id: str) -> dict | None:
        """A case's committed baseline (None if there is none); DamagedFile if unreadable."""
        path, stored = cls._stored(profile, case_id)
        return None if stored is None else _parse_baseline(stored, path)

    @classmethod
    def outcome(cls, profile: str, record: dict) -> tuple[dict, dict | None]:
        """The gate's outcome for a record against its committed baseline, as data, and
        that baseline (None if there is none, or if it cannot be read)."""
        try:
            path, stored = cls._stored(profile, record["case"])
            if stored is None:
                return {"status": "missing"}, None
            result = _gate(_serialize(record), stored, path)
        except DamagedFile as exc:
            return {"status": "unreadable", "error": str(exc)}, None
        baseline = json.loads(stored)
        return gate_summary(result, baseline), baseline

    def matches(self, *, serialized_data, snapshot_data) -> bool:
        return not self.accept and super().matches(serialized_data=serialized_data, snapshot_data=snapshot_data)

    def _result(self, serialized_data: str, snapshot_data: str) -> GateResult:
        return _gate(serialized_data, snapshot_data, self.path(self.profile, json.loads(serialized_data)["case"]))

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
        from evals.drift.gate import compare

        current = json.loads(serialized_data)
        path = snapshots_dir() / self.profile / f"drift-{current['precision']}.json"
        try:
            baseline = json.loads(snapshot_data)
        except (ValueError, RecursionError) as exc:
            raise DamagedFile(f"{path}: an unreadable drift baseline, not valid JSON ({exc})") from None
        with fields_of(path):
            return compare(current, baseline)

    @staticmethod
    def _name(current: dict) -> str:
        return current["precision"]

    @staticmethod
    def _lines(result, current: dict):
        return result.lines(current)
