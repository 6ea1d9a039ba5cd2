"""The statistical gate: the stratified test (stats.py), the noise model and power
(noise.py, sensitivity.py), verdicts (decision.py), the run's alpha split (policy.py),
baseline records (records.py), pools (pooling.py) and the seed report's table (seed_reference.py)."""
