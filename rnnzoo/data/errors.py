"""The one exception a user's data file can raise: a single line naming the file and the line.

A user who points ``data.path`` at a file with a typo on line 9,000 should read which line is
wrong and how many others are, not a traceback from inside the csv module.
"""
from __future__ import annotations

import os


class DataError(ValueError):
    """A problem with a data file, worded for the person who wrote the file.

    ``str(err)`` reads ``data file 'reviews.csv', line 7: label 'maybe' is not one of:
    negative, positive (and 3 more bad rows)``. ``path``, ``line`` (1-based, physical) and
    ``more`` (how many further bad rows were found) stay available as attributes.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None,
                 line: int | None = None, more: int = 0, unit: str = "bad row"):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.more = more
        self.unit = unit  # what ``more`` counts: "bad row", or "bad line" in a plain text
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path is not None:
            where.append(f"data file {self.path!r}")
        if self.line is not None:
            where.append(f"line {self.line}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.more:
            text += f" (and {self.more} more {self.unit}{'s' if self.more != 1 else ''})"
        return text

    def __reduce__(self):  # keep the attributes across pickling (DataLoader workers)
        return type(self), (self.message, self.path, self.line, self.more, self.unit)
