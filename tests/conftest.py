"""Fixtures shared by the suite's own tests."""

import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A finished run of the whole tiny matrix with every generation kept (tests/kept_run.py).
    Read only: tests work on copies."""
    from tests.kept_run import find_or_make

    return find_or_make(tmp_path_factory.mktemp("tiny-run"))
