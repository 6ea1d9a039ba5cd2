"""Weights on disk before a GPU run starts, at the commits the run will name.

    python -m evals fetch [--profile full] [--precision fp8 ...]

Downloads each hub model of the profile at its pinned revision into the Hugging Face
cache (huggingface_hub, with its progress bars), and prints the commit each revision
resolved to. Servers then start offline (HF_HUB_OFFLINE=1), so their readiness wait
never includes a download. A branch revision (`main`) is replaced, for the whole run, by
the commit it resolves to in the cache: the manifest, the baselines' fingerprints and the
resume keys name that commit, so a hub update cannot change the weights under them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path

from evals.config.matrix import Case, ConfigError, Model

COMMIT = re.compile(r"[0-9a-f]{40}")


class FetchError(RuntimeError):
    """Weights that are not on disk, or could not be downloaded; the message says how to get them."""


def _cache_dir() -> str | None:
    return os.environ.get("HF_HUB_CACHE")  # None: huggingface_hub's own default


def fetch_command(profile: str, precisions: list[str] | None = None) -> str:
    chosen = "".join(f" --precision {p}" for p in precisions or [])
    return f"python -m evals fetch --profile {profile}{chosen}"


def local_path(model: Model) -> str | None:
    """The folder of a model's revision in the local cache; None if it is not there."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(model.model, revision=model.revision, cache_dir=_cache_dir(), local_files_only=True)
    except (LocalEntryNotFoundError, FileNotFoundError):
        return None


def local_commit(model: Model) -> str | None:
    """The commit of a model's revision in the local cache; None if it is not there."""
    path = local_path(model)
    return None if path is None else Path(path).name


def download(model: Model) -> str:
    """Download a model at its revision (what is cached already is kept); its commit."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(model.model, revision=model.revision, cache_dir=_cache_dir())
    except Exception as exc:  # network, authentication, a revision the hub does not know
        raise FetchError(f"{model.model}@{model.revision}: download failed: {exc}") from exc
    return Path(path).name


def pinned(cases: list[Case], download_missing: bool, profile: str) -> list[Case]:
    """The cases with each hub model's revision replaced by the commit it resolves to on
    disk, downloading what is missing if asked (else FetchError with the command)."""
    commits: dict[str, str] = {}
    for model in {c.model.name: c.model for c in cases if not c.model.is_tiny}.values():
        commit = local_commit(model)
        if commit is None and download_missing:
            print(f"{model.model}@{model.revision} is not on disk: downloading it now "
                  f"(prefetch with `{fetch_command(profile)}`)", file=sys.stderr, flush=True)
            commit = download(model)
        if commit is None:
            raise FetchError(f"{model.model}@{model.revision} is not on disk: run `{fetch_command(profile)}` first")
        commits[model.name] = commit
    return [dataclasses.replace(c, model=dataclasses.replace(c.model, revision=commits[c.model.name]))
            if c.model.name in commits else c for c in cases]


def add_arguments(parser) -> None:
    parser.add_argument("--precision", action="append", default=[], help="only these precisions (repeat or comma-separate)")
    parser.add_argument("--pin", action="store_true",
                        help="write the commit a branch revision (NVFP4's main) resolved to into the matrix config, so "
                             "every machine fetches and names the same weights (commit the change)")


def command(args) -> int:
    cases = args.matrix.cases(args.profile)
    wanted = [p for value in args.precision for p in value.split(",") if p]
    unknown = sorted(set(wanted) - {c.precision for c in cases})
    if unknown:
        raise ConfigError(f"--precision {','.join(unknown)}: not in profile {args.profile!r}")
    models = {c.model.name: c.model for c in cases if not c.model.is_tiny and (not wanted or c.precision in wanted)}
    if not models:
        print(f"profile {args.profile!r} has no hub model to fetch (the tiny model is built, not downloaded)")
        return 0
    try:
        for model in models.values():
            commit = download(model)
            note = "" if COMMIT.fullmatch(model.revision or "") else f" (branch {model.revision!r} resolved; runs name this commit)"
            print(f"{model.name}: {model.model}@{commit}{note}", flush=True)
            if args.pin and note:
                from evals.config.edit import pin_revision

                pin_revision(args.matrix.source, model.name, commit)
                print(f"{model.name}: pinned in {args.matrix.source}: revision {commit} (was {model.revision!r})", flush=True)
    except FetchError as exc:
        print(f"python -m evals fetch: {exc}", file=sys.stderr)
        return 1
    return 0
