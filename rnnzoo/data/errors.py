"""The one exception a user's data file can raise: a single line naming the file and the line.

A user who points ``data.path`` at a file with a typo on line 9,000 should read which line is
wrong and how many others are, not a traceback from inside the csv module. The class lives
with the other reported errors in :mod:`rnnzoo.errors`.
"""
from pathlib import Path

from rnnzoo.errors import DataError

__all__ = ["DataError", "existing_file"]


def existing_file(path, *, nonempty: bool = False) -> Path:
    """``path`` as a Path, once it names a file (and, with ``nonempty``, one with content);
    otherwise the one-line DataError every loader gives."""
    source = Path(path)
    if not source.exists():
        raise DataError("no such file", path)
    if source.is_dir():
        raise DataError("is a directory, not a file", path)
    if nonempty and source.stat().st_size == 0:
        raise DataError("the file is empty", path)
    return source
