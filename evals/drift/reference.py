"""Where the reference precision's responses and their scores come from: this run, when
it runs the reference precision, or else a stored reference, an earlier run of the same
profile whose reference drift test finished (`--drift-reference RUN`, or the newest such
run under --artifacts). A stored reference is read, never written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evals.artifacts.jsonio import DamagedFile
from evals.artifacts.run_folder import read_manifest, runs_newest_first
from evals.config.matrix import REFERENCE_PRECISION, DriftSettings

# The settings that decide which tokens were scored, and how: a stored reference must share them.
SCORED_BY = ("items", "max_tokens", "top_k")


@dataclass(frozen=True)
class StoredReference:
    dir: Path
    manifest: dict

    @property
    def weights(self) -> str:
        """The reference model's weights, as its generations' context names them."""
        return self.manifest["models"][REFERENCE_PRECISION]["context"]["model"]


def entry(responses: int, tokens: int, top1: float, sampleable: float, settings: DriftSettings) -> dict:
    """The manifest's note that a run's reference scored its own responses: what makes the
    run a stored reference for later runs."""
    return {"reference": True, "responses": responses, "tokens": tokens, "top1": round(top1, 6),
            "sampleable": round(sampleable, 6),
            **{k: getattr(settings, k) for k in SCORED_BY}}


def problem(manifest: dict, profile: str, settings: DriftSettings) -> str | None:
    """Why a run's manifest cannot serve as the stored reference (None: it can)."""
    if manifest.get("profile") != profile:
        return f"a run of profile {manifest.get('profile')!r}, not {profile!r}"
    if manifest.get("replay_of"):
        return f"a replay of {manifest['replay_of']}; name that run instead"
    noted = (manifest.get("drift") or {}).get(REFERENCE_PRECISION) or {}
    if not noted.get("reference"):
        return f"its {REFERENCE_PRECISION} drift test did not finish there"
    differ = [f"{k} {noted.get(k)} (now {getattr(settings, k)})" for k in SCORED_BY if noted.get(k) != getattr(settings, k)]
    if differ:
        return "scored with other drift settings: " + ", ".join(differ)
    return None


def load(run: Path, profile: str, settings: DriftSettings) -> StoredReference:
    """A named stored reference; ValueError says why it cannot serve."""
    try:
        manifest = read_manifest(run)
    except (OSError, DamagedFile) as exc:
        raise ValueError(f"{run}: not a run folder with a readable manifest.json ({exc})") from None
    why = problem(manifest, profile, settings)
    if why:
        raise ValueError(f"{run}: {why}")
    return StoredReference(Path(run), manifest)


def newest(root: Path, profile: str, settings: DriftSettings) -> StoredReference | None:
    """The newest run under `root` that can serve as the stored reference."""
    for run, manifest in runs_newest_first(root):
        if problem(manifest, profile, settings) is None:
            return StoredReference(run, manifest)
    return None
