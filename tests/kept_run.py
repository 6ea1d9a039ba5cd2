"""The tiny matrix's kept generations, made once: tests about what happens after generation
(resume, replay, baselines) work on copies of one finished run instead of starting engines.

The newest finished run of the whole tiny matrix under the project's artifacts folder is
taken when it was made under today's matrix config (CI's `pytest evals` step leaves one);
otherwise one is made here with the same command, into a temporary folder."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

from evals.artifacts.jsonio import DamagedFile
from evals.artifacts.run_folder import read_manifest
from evals.config.matrix import REFERENCE_PRECISION, Matrix, load_matrix
from tests.evals_run import COMMITTED_BASELINES, ROOT, run_evals, the_run


@functools.cache
def _today() -> tuple[Matrix, str]:
    """Today's matrix config and tiny model build, read once (the build key hashes files)."""
    from evals.engine.tiny.build import cache_key

    matrix = load_matrix()
    return matrix, "@" + cache_key(matrix)


def reusable(run: Path) -> bool:
    """A finished, unnarrowed tiny run under today's config and tiny model build, with every
    generation and the reference's drift scores kept (another build would make its resumes
    generate anew)."""
    matrix, build = _today()
    try:
        manifest = read_manifest(run)
    except (OSError, DamagedFile):
        return False
    cases = {c.id for c in matrix.cases("tiny")}
    return (manifest["profile"] == "tiny" and not manifest.get("replay_of") and manifest.get("limit") is None
            and not manifest.get("baseline")  # a --snapshot-update run's samples are drawn apart from runs'
            and manifest.get("config_digest") == matrix.digest and set(manifest.get("finished", {})) >= cases
            and all((run / "generations" / f"{p}.jsonl").exists() for p in {c.split("-")[0] for c in cases})
            and (matrix.drift("tiny") is None or (manifest.get("drift") or {}).get(REFERENCE_PRECISION, {}).get("reference"))
            and all(model.get("context", {}).get("model", "").endswith(build) for model in manifest.get("models", {}).values()))


def find_or_make(tmp: Path) -> Path:
    """The newest reusable run under the project's artifacts or `tmp` (made there earlier in
    this session), else a new one made in `tmp`."""
    runs = [m.parent for root in (ROOT, tmp) for m in root.glob("artifacts/*/manifest.json")]
    newest_first = sorted(runs, key=lambda r: (r / "manifest.json").stat().st_mtime, reverse=True)  # reusable() decides
    for run in newest_first:
        if reusable(run):
            return run
    tmp.mkdir(parents=True, exist_ok=True)
    code, outcomes, left, output = run_evals(tmp, "", env=COMMITTED_BASELINES)
    run = the_run(tmp)
    failed = "\n".join(f"{test}: {message[:1500]}" for test, (outcome, message) in outcomes.items() if outcome != "passed")
    # A gate verdict (exit 1) does not matter here: every case finished with its generations kept.
    assert code in (0, 1) and not left and reusable(run), f"{failed}\n{output[-1500:]}"
    return run


def copy_of(run: Path, root: Path, regenerate: tuple[str, ...] = ()) -> Path:
    """A copy of a kept run under root/artifacts, without the generations, looks and drift
    scores of the `regenerate` precisions (a resume of them starts their servers)."""
    copy = shutil.copytree(run, root / "artifacts" / run.name)
    for precision in regenerate:
        for kept in (copy / "generations" / f"{precision}.jsonl", copy / "drift" / f"{precision}.jsonl",
                     copy / "drift" / "moved" / f"{precision}.json", copy / "looks" / f"{precision}.json"):
            kept.unlink(missing_ok=True)
    return copy


def narrowed_copy(run: Path, root: Path, precisions: tuple[str, ...]) -> Path:
    """A copy of a kept run under root/artifacts (its own name) as if it had run only
    `precisions`: their cases, kept generations, looks and drift scores, no servers' logs, and no
    drift entry in the manifest (so it is no stored reference either)."""
    copy = root / "artifacts" / f"{run.name}-{'-'.join(precisions)}"
    shutil.copytree(run, copy, ignore=lambda folder, names: [
        n for n in names if Path(folder) == run and (n == "servers" or n.split("-")[0] not in (*precisions, "drift", "generations", "looks")
                                                    and (run / n).is_dir())])
    for kept in [*copy.glob("generations/*.jsonl"), *copy.glob("drift/*.json*"), *copy.glob("drift/moved/*.json"),
                 *copy.glob("looks/*.json")]:
        if kept.name.split(".")[0] not in precisions:
            kept.unlink()
    manifest = json.loads((copy / "manifest.json").read_text())
    ours = [c for c in manifest["cases"] if c.split("-")[0] in precisions]
    manifest.update(cases=ours, finished={c: t for c, t in manifest["finished"].items() if c in ours},
                    models={p: m for p, m in manifest["models"].items() if p in precisions})
    manifest.pop("drift", None)
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return copy
