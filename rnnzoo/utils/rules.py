"""What a value must be, written beside the field or argument it guards:

    hidden_size: Optional[int] = ruled(None, ge=1)                 # a config dataclass's field
    seq_len: Annotated[int, Rule(ge=2, why="...")] = 50            # a constructor's argument

The config checks (:mod:`rnnzoo.config.checks`) find both; a value that breaks a rule stops the
run with ``key=value: <what is allowed>``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """Bounds (``ge``, ``gt``, ``le``, ``lt``) or a ``check(value) -> bool``; ``why`` says what
    is allowed in words (by default the bounds do)."""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    check: Callable[[Any], bool] | None = None
    why: str = ""

    def broken(self, value: Any) -> str | None:
        """None when ``value`` keeps the rule (null and true/false always do), else what is allowed."""
        if value is None or isinstance(value, bool):
            return None
        if self.check is not None:
            return None if self.check(value) else self.why
        if not isinstance(value, (int, float)):
            return None
        kept = ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))
        return None if kept else self.why or self._bounds()

    def _bounds(self) -> str:
        low = ("[", self.ge) if self.ge is not None else ("(", self.gt) if self.gt is not None else None
        high = (self.le, "]") if self.le is not None else (self.lt, ")") if self.lt is not None else None
        if low and high:
            return f"must be in {low[0]}{low[1]}, {high[0]}{high[1]}"
        if low:
            return f"must be {'>=' if low[0] == '[' else '>'} {low[1]}"
        return f"must be {'<=' if high[1] == ']' else '<'} {high[0]}"


def ruled(default: Any = None, **rule) -> Any:
    """A dataclass field with a :class:`Rule` (``ruled(1, ge=1)``)."""
    return dataclasses.field(default=default, metadata={"rule": Rule(**rule)})


def rule_of(field: dataclasses.Field) -> Rule | None:
    return field.metadata.get("rule")
