"""The layout's promises: the library never imports pytest (only evals/plugin/ and the
suite's test modules do), the gate and the report load without lm-eval, vLLM or torch,
and evals/ holds only its entry points beside the stages."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVALS = ROOT / "evals"
HEAVY = ("lm_eval", "vllm", "torch", "pytest", "_pytest", "syrupy", "xdist", "transformers")
PYTEST_PLACES = {EVALS / "plugin", EVALS / "suite", EVALS / "conftest.py"}


def imported(module: str) -> set[str]:
    """Top-level packages loaded by importing `module` in a fresh interpreter."""
    code = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize("module", ["evals.report.build", "evals.report.markdown", "evals.gate.baselines",
                                    "evals.gate.pooling", "evals.gate.decision", "evals.planning.plan",
                                    "evals.artifacts.run_folder", "evals.config.matrix"])
def test_the_gate_and_the_report_load_without_the_heavy_libraries(module):
    assert not imported(module) & set(HEAVY)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_plugin_imports_pytest_xdist_or_syrupy():
    offenders = [str(path.relative_to(ROOT)) for path in EVALS.rglob("*.py")
                 if not any(place == path or place in path.parents for place in PYTEST_PLACES)
                 and _imports(path) & {"pytest", "_pytest", "xdist", "syrupy"}]
    assert offenders == []


def test_evals_shows_its_stages():
    modules = sorted(p.name for p in EVALS.glob("*.py"))
    assert len(modules) <= 6, modules
    stages = {p.name for p in EVALS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {"config", "engine", "lmeval", "run", "gate", "drift", "artifacts", "report", "planning", "plugin",
            "suite"} <= stages
