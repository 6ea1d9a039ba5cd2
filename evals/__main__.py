"""The suite's commands, one prologue for all of them:

    python -m evals plan [--profile full]        the exact plan of a profile: server command lines, lm-eval calls (JSON)
    python -m evals estimate [--profile full]    what a run costs before it starts: requests, tokens, GPU-hours
    python -m evals power [--profile full] [--precision bf16] [--recommend]   what each gate test can detect
    python -m evals report RUN [--against RUN] [--out DIR] [--html]   a run's report, from its folder alone
    python -m evals fetch [--profile full] [--precision fp8]  weights on disk at their pinned commits

Each verb's module gives its own arguments (`add_arguments`) and runs it (`command`); a
verb with `--profile` gets the matrix config loaded and the profile checked. A wrong
config, flag or file is exit 2 with one line naming it, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from evals.config.matrix import ConfigError, check_profile, load_matrix

# verb -> (module, what it does, whether it takes a profile)
VERBS = {
    "plan": ("evals.planning.plan", "the exact plan of a profile (server command lines, lm-eval calls)", True),
    "estimate": ("evals.planning.estimate", "a run's requests, output tokens and GPU-hours per precision", True),
    "power": ("evals.planning.power", "the drop each gate test detects, by samples per item, and its cost", True),
    "report": ("evals.report.build", "a run's report (Markdown, JSON, charts; --html: the page) from its artifacts folder", False),
    "fetch": ("evals.engine.fetch", "download a profile's weights at their pinned revisions", True),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m evals", description=__doc__.split("\n\n")[0])
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, (module, help_text, profiled) in VERBS.items():
        sub = verbs.add_parser(verb, help=help_text, description=help_text)
        if profiled:
            sub.add_argument("--profile", default="full", help="a profile of evals/config/matrix.yaml (default: full)")
        importlib.import_module(module).add_arguments(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    module = importlib.import_module(VERBS[args.verb][0])
    try:
        if VERBS[args.verb][2]:
            args.matrix = load_matrix()
            check_profile(args.matrix, args.profile)
        return module.command(args)
    except (ConfigError, FileNotFoundError, ValueError, KeyError) as exc:  # each names its file, key or flag
        print(f"python -m evals {args.verb}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
