"""API keys and other secrets: which key a server is sent, and what is never written down.

A key comes from the environment only (on the command line it would land in shell history
and `ps`): for a remote server of a precision (`--vllm-url fp8=URL`), SUITE_API_KEY_<PRECISION>
(SUITE_API_KEY_FP8), else VLLM_API_KEY; the suite's own servers inherit the environment, so
with VLLM_API_KEY set they require it, and the suite sends them the same key. Sent as
`Authorization: Bearer <key>`, as vLLM's --api-key expects.

Secrets are variables whose names say key, token, secret, password or credential: the
manifest records that one was set, never its value, and text the suite shows or keeps
(server log tails in failures) has their values replaced by the variable's name."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

SECRET_NAME = re.compile(r"(?i)(key|token|secret|passw|credential)")
SHARED_KEY = "VLLM_API_KEY"
REDACTED = "(set; value not recorded)"
_SHORTEST = 4  # shorter values are too common to find and replace


def key_variables(precision: str | None) -> list[str]:
    """Where a precision's server key is looked for, first first."""
    return ([f"SUITE_API_KEY_{precision.upper()}"] if precision else []) + [SHARED_KEY]


def api_key(precision: str | None) -> tuple[str | None, str | None]:
    """(the key, the variable it came from), or (None, None)."""
    for name in key_variables(precision):
        if os.environ.get(name):
            return os.environ[name], name
    return None, None


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def is_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """The variables, a secret's value replaced by REDACTED."""
    return {name: REDACTED if is_secret(name) else value for name, value in env.items()}


def redact_text(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with the value of every secret variable of `env` (the process's) replaced by
    its name in angle brackets."""
    for name, value in (os.environ if env is None else env).items():
        if is_secret(name) and value and len(value) >= _SHORTEST and value in text:
            text = text.replace(value, f"<{name}>")
    return text
