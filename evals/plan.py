"""`python -m evals.plan ...`: the same as `python -m evals plan ...` (evals/planning/plan.py)."""

import sys

from evals.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["plan", *sys.argv[1:]]))
