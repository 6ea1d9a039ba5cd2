"""Settings for every test run: offline hubs and the hypothesis profiles."""

import os

from hypothesis import HealthCheck, settings

# No model or dataset hub is reachable on CI machines; everything loads from files.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# CI: a fixed, derandomised profile, so a red run reproduces anywhere.
settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
# Before changing a scorer: HYPOTHESIS_PROFILE=thorough pytest tests/test_properties.py
settings.register_profile("thorough", max_examples=3000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
