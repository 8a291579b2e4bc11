"""Small pieces shared by every declaration file (fields, feature sets, policies)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BeforeValidator


def _as_text(v: Any) -> Any:
    """YAML reads `version: 1.0` as a float; a version is a label, so keep it as text."""
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


Version = Annotated[str, BeforeValidator(_as_text)]


def repeated(names: Iterable[str]) -> list[str]:
    """Names that occur more than once, sorted, for 'must be unique' messages."""
    seen: set[str] = set()
    dupes: set[str] = set()
    for n in names:
        (dupes if n in seen else seen).add(n)
    return sorted(dupes)
