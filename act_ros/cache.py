"""Where act_ros keeps what it downloads once and then uses offline: one folder per kind in the
user's cache, or wherever the kind's environment variable points."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir(name: str, env_var: str) -> Path:
    """``$<env_var>``, else ``$XDG_CACHE_HOME/act_ros/<name>`` (``~/.cache`` by default)."""
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "act_ros" / name
