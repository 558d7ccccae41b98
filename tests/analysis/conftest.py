import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """The analysis tests (and the scripts they run, which set their own count) on one thread."""
