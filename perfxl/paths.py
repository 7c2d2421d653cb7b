"""Path tests that answer False, not raise, and path names that can always be printed and written.

``Path.is_dir()`` and its siblings raise OSError before Python 3.14 for a name longer than the
file system allows (ENAMETOOLONG) and a few other errors; a command checking its arguments must
then go on to the operation that fails with a Chinese message, not end in a traceback.
"""

from __future__ import annotations

from pathlib import Path


def shown(path: str | Path) -> str:
    """Return ``path`` as text every writer accepts: itself, unless a part of it is not UTF-8.

    On Linux a file name whose bytes are not UTF-8 (a GBK name unpacked from a zip made on
    Chinese Windows, common on Kylin and UOS desktops) reaches Python with those bytes as lone
    surrogates, which no UTF-8 file, JSON document or workbook accepts. Such a part of the path
    is decoded from its original bytes as GB18030 when they are valid GB18030, and shown with
    escapes such as ``\\xff`` otherwise. GBK never uses the byte of "/" inside a character, so
    the parts are decoded one by one.
    """
    text = str(path)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "/".join(map(_decoded, text.split("/")))
    return text


def _decoded(part: str) -> str:
    try:
        part.encode("utf-8")
        return part
    except UnicodeEncodeError:
        pass
    try:
        raw = part.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # A lone surrogate that stands for no byte (possible in a Windows name).
        return part.encode("utf-8", "backslashreplace").decode("utf-8")
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


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
