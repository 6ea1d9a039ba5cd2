"""A session's run of the matrix: what it runs and where (session.py), one generation pass
per model (generation_pass.py), progress lines (progress.py) and the drift pass (drift_pass.py)."""
