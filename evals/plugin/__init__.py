"""The pytest plugin, the only code that imports pytest, xdist or syrupy: options and hooks
(hooks.py), which cases a session runs (selection.py), the run's own hooks (run_hooks.py),
xdist scheduling (workers.py) and the syrupy extensions (snapshots.py)."""
