"""python -m scorers FILE... [--out OUT.jsonl] [--task aime|math] [--mode MODE]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scorers.jsonl import write_jsonl_atomic
from scorers.rescore import InputError, format_summary, read_records, score_record, summarise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scorers",
        description="Re-score lm-eval samples JSONL or plain JSONL ({response, gold, task?, mode?, id?}) "
        "with every metric; print each metric over the input and write one line per record.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--out", type=Path, help="write per-record verdicts here (JSONL); written only if all input is valid")
    parser.add_argument("--task", help="task kind for every record: aime or math (default: from the record or file name)")
    parser.add_argument("--mode", help="mode for records that do not name one (e.g. think_final)")
    args = parser.parse_args(argv)
    if args.out is not None:
        clobbered = [str(f) for f in args.files if _same_file(f, args.out)]
        if clobbered:
            print(f"error: --out {args.out} is an input ({', '.join(clobbered)}): it would be replaced by the "
                  "verdicts; write them to another file", file=sys.stderr)
            return 2
    try:
        # Read everything first: a bad line anywhere fails the run before any output is written.
        records = [rec for path in args.files for rec in read_records(path, args.task, args.mode)]
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = [score_record(rec) for rec in records]
    print(format_summary(summarise(rows)))
    if args.out is not None:
        write_jsonl_atomic(args.out, rows)
        print(f"wrote {len(rows)} records to {args.out}")
    return 0


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through symlinks, hard links, or spelling)."""
    try:
        return a.samefile(b)
    except OSError:  # either does not exist: not one file
        return False


if __name__ == "__main__":
    sys.exit(main())
