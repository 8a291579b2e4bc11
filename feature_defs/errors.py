"""The one error type for a broken contract, so every caller can show it without a traceback."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError


class ContractError(ValueError):
    """A lead-field, feature-set or policy definition, or a record, breaks a declared rule.

    The message always names the file (when there is one), the key and the rule, because the
    people who fix YAML files are marketing ops, not the engineers who read tracebacks.
    """

    def __init__(
        self,
        problems: Sequence[str],
        *,
        source: str | Path | None = None,
        details: Sequence[dict] | None = None,
    ) -> None:
        self.problems = list(problems)
        self.source = str(source) if source is not None else None
        # structured form of record problems (row, field, rule, value), for field-level 4xx
        self.details = list(details or [])
        prefix = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            text = prefix + self.problems[0]
        else:
            text = (
                prefix
                + f"{len(self.problems)} problems:\n"
                + "\n".join(f"  - {p}" for p in self.problems)
            )
        super().__init__(text)


def dotted(loc: Iterable[Any], data: Any = None) -> str:
    """Render a location such as ('fields', 3, 'allowed') as "fields[3] 'sector'.allowed".

    When the raw data is given, list items that carry a name (or code, or reason) are labelled
    with it, so that the user finds the entry without counting.
    """
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            label = next(
                (
                    item[k]
                    for k in ("name", "code", "reason")
                    if isinstance(item, dict) and k in item
                ),
                None,
            )
            if label is not None:
                out += f" '{label}'"
            node = item
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def from_validation_error(
    err: ValidationError, *, source: str | Path | None, data: Any = None
) -> ContractError:
    """Turn pydantic's error list into one ContractError with 'key: rule (got value)' lines."""
    problems = []
    for e in err.errors(include_url=False):
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        shown = (
            "" if e["type"] in ("missing",) or isinstance(got, dict | list) else f" (got {got!r})"
        )
        problems.append(f"{dotted(loc, data)}: {msg}{shown}")
    return ContractError(problems, source=source)
