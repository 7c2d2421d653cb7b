"""Path tests that answer False, not raise, for paths the system cannot even look up.

``Path.is_dir()`` and its siblings raise OSError before Python 3.14 for a name longer than the
file system allows (ENAMETOOLONG) and a few other errors; a command checking its arguments must
then go on to the operation that fails with a Chinese message, not end in a traceback.
"""

from __future__ import annotations

from pathlib import Path


def is_dir(path: Path) -> bool:
    """Return whether ``path`` is a folder; False when it cannot be looked up."""
    try:
        return path.is_dir()
    except OSError:
        return False


def is_file(path: Path) -> bool:
    """Return whether ``path`` is a regular file; False when it cannot be looked up."""
    try:
        return path.is_file()
    except OSError:
        return False


def exists(path: Path) -> bool:
    """Return whether anything is at ``path``; False when it cannot be looked up."""
    try:
        return path.exists()
    except OSError:
        return False
