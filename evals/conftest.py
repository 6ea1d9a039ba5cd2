"""pytest's entry to the matrix: the plugin's options, hooks and fixtures (evals/plugin/)."""

from evals.plugin.fixtures import *  # noqa: F401,F403  pytest reads fixtures from this module
from evals.plugin.hooks import *  # noqa: F401,F403  and hooks
