"""The one exception a user's data file can raise: a single line naming the file and the line.

A user who points ``data.path`` at a file with a typo on line 9,000 should read which line is
wrong and how many others are, not a traceback from inside the csv module. The class lives
with the other reported errors in :mod:`rnnzoo.errors`.
"""
from rnnzoo.errors import DataError

__all__ = ["DataError"]
