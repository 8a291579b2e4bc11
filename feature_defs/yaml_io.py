"""Read YAML contract files with errors that name the file and line, never a parser traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from feature_defs.errors import ContractError


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Load one YAML mapping; a missing file, bad syntax or a non-mapping is a ContractError."""
    p = Path(path)
    if not p.is_file():
        raise ContractError([f"file not found: {p}"])
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError([f"{where}invalid YAML: {problem}"], source=p) from None
    if not isinstance(data, dict):
        raise ContractError(["the top level must be a mapping of keys to values"], source=p)
    return data
