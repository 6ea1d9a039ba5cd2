"""Before a run: the exact GPU plan (plan.py), its cost (estimate.py) and what each gate test
can detect (power.py)."""
