"""Outputs are written whole or not at all: into a temporary file beside the target, then renamed into place.

The temporary file sits in the target's folder, so the rename stays on one file system and is
atomic. A new output gets the user's normal permissions (``tempfile.mkstemp`` makes its files
0600 and the rename keeps that, which leaves a consolidated workbook on a shared drive that no
colleague can open); a replaced one keeps the permissions it had. The temporary name starts
with a dot and ends in ``.tmp``, so a run killed halfway leaves nothing that a later
consolidation of the folder would take for a workbook.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"
# Read and write for everyone the umask allows, as a newly saved document gets.
_MODE = 0o666


def temporary_beside(path: Path) -> Path:
    """Return the path of a new empty file in ``path``'s folder (created with it if missing), named never to clash."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        # mkdir reports a file standing where a folder of the path should be as "exists".
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)) from None
    while True:
        tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}{TEMPORARY_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), _MODE)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def put_in_place(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` onto ``path``, keeping the permissions of the file it replaces; return None."""
    if path.exists():
        shutil.copymode(path, tmp)
    tmp.replace(path)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` that replaces ``path`` when the block succeeds, and is deleted if not."""
    tmp = temporary_beside(path)
    try:
        yield tmp
        put_in_place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
