"""lm-eval's side of a case: what it is asked to do (call.py), the model it talks to
(model.py), a case's run into metrics and samples (runner.py) and the checks of its
prompts before any engine starts (preflight.py)."""
