"""The matrix's test modules: one test per case (test_matrix.py), pooled per precision
(test_precision.py), cross-precision (test_recovery.py), drift (test_drift.py) and the
seed report's table (test_seed_reference.py)."""
