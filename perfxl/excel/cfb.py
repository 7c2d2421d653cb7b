"""A minimal, deterministic writer of compound files (MS-CFB version 3), the container of vbaProject.bin.

Only what a VBA project needs: storages and streams under the root, 512-byte sectors, the
mini stream for streams under 4,096 bytes, and FAT sectors listed in the header (so at most
109 of them, about 6.8 MB). Every timestamp and class id is zero, so equal input gives equal
bytes. Each storage's children form a balanced binary tree coloured as a valid red-black tree,
as MS-CFB 2.6.4 requires.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
HEADER_DIFAT = 109
MAX_NAME = 31

_STORAGE, _STREAM, _ROOT = 1, 2, 5
_RED, _BLACK = 0, 1
_ENTRY = struct.Struct("<64sHBBIII16sIQQIQ")
_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


@dataclass
class _Entry:
    """One directory entry while the file is laid out."""

    name: str
    kind: int
    data: bytes = b""
    children: dict[str, _Entry] = field(default_factory=dict)
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    color: int = _BLACK
    start: int = ENDOFCHAIN
    size: int = 0


def _sort_key(name: str) -> tuple[int, str]:
    """Return the MS-CFB order of sibling names: shorter first, then by upper-cased code points."""
    return len(name.encode("utf-16-le")), name.upper()


def compound_file(streams: Mapping[str, bytes]) -> bytes:
    """Return a compound file holding ``streams``, keyed by slash-separated paths such as ``VBA/dir``."""
    root = _Entry("Root Entry", _ROOT)
    for path, data in streams.items():
        *storages, name = path.split("/")
        parent = root
        for part in storages:
            parent = parent.children.setdefault(_check_name(part), _Entry(part, _STORAGE))
            if parent.kind != _STORAGE:
                raise ValueError(f"{path}: {part} is a stream, not a storage")
        if _check_name(name) in parent.children:
            raise ValueError(f"{path}: written twice")
        parent.children[name] = _Entry(name, _STREAM, data)
    entries = _number(root)
    return _layout(entries)


def _check_name(name: str) -> str:
    if not name or len(name) > MAX_NAME or any(ch in name for ch in "/\\:!"):
        raise ValueError(f"invalid compound-file name: {name!r}")
    return name


def _number(root: _Entry) -> list[_Entry]:
    """Return every entry in directory order (breadth first), with sibling trees and child links set."""
    entries = [root]
    queue = [root]
    while queue:
        parent = queue.pop(0)
        if not parent.children:
            continue
        ordered = sorted(parent.children.values(), key=lambda e: _sort_key(e.name))
        first = len(entries)
        entries.extend(ordered)
        queue.extend(ordered)
        parent.child = _tree(entries, first, 0, len(ordered), 0, _depth(len(ordered)))
    return entries


def _depth(count: int) -> int:
    """Return the depth of the deepest node of a balanced tree of ``count`` nodes (the root is depth 0)."""
    return count.bit_length() - 1


def _tree(entries: list[_Entry], base: int, lo: int, hi: int, depth: int, deepest: int) -> int:
    """Link entries ``base+lo .. base+hi-1`` (sorted) as a balanced tree; return the index of its root.

    Splitting at the middle leaves every missing child at the last two levels, so colouring
    only the deepest level red gives every path the same number of black nodes: a valid
    red-black tree.
    """
    if lo >= hi:
        return NOSTREAM
    mid = (lo + hi) // 2
    node = entries[base + mid]
    node.color = _RED if depth == deepest > 0 else _BLACK
    node.left = _tree(entries, base, lo, mid, depth + 1, deepest)
    node.right = _tree(entries, base, mid + 1, hi, depth + 1, deepest)
    return base + mid


def _chain(fat: list[int], first: int, count: int) -> None:
    for i in range(first, first + count - 1):
        fat[i] = i + 1
    fat[first + count - 1] = ENDOFCHAIN


def _sectors(size: int, unit: int) -> int:
    return -(-size // unit)


def _layout(entries: list[_Entry]) -> bytes:
    """Return the file: header, big streams, mini stream, directory, mini FAT, then the FAT."""
    body = bytearray()
    fat: list[int] = []
    mini = bytearray()
    minifat: list[int] = []

    def place(data: bytes) -> int:
        count = _sectors(len(data), SECTOR)
        first = len(fat)
        fat.extend([FREESECT] * count)
        _chain(fat, first, count)
        body.extend(data.ljust(count * SECTOR, b"\0"))
        return first

    for entry in entries:
        if entry.kind != _STREAM or not entry.data:
            continue
        entry.size = len(entry.data)
        if entry.size >= MINI_CUTOFF:
            entry.start = place(entry.data)
        else:
            count = _sectors(entry.size, MINI_SECTOR)
            entry.start = len(minifat)
            minifat.extend([FREESECT] * count)
            _chain(minifat, entry.start, count)
            mini.extend(entry.data.ljust(count * MINI_SECTOR, b"\0"))
    root = entries[0]
    if mini:
        root.start, root.size = place(bytes(mini)), len(mini)
    directory = b"".join(_entry_bytes(e) for e in entries)
    padding = -len(entries) % (SECTOR // _ENTRY.size)
    directory += _empty_entry() * padding
    dir_start = place(directory)
    minifat_start, minifat_count = ENDOFCHAIN, 0
    if minifat:
        table = minifat + [FREESECT] * (-len(minifat) % (SECTOR // 4))
        minifat_count = _sectors(len(table) * 4, SECTOR)
        minifat_start = place(struct.pack(f"<{len(table)}I", *table))
    # The FAT also maps its own sectors: grow it until it covers itself.
    fat_count = 1
    while _sectors(len(fat) + fat_count, SECTOR // 4) > fat_count:
        fat_count += 1
    if fat_count > HEADER_DIFAT:
        raise ValueError("compound file too large for a header-only FAT (over about 6.8 MB)")
    fat_start = len(fat)
    fat.extend([FATSECT] * fat_count)
    fat.extend([FREESECT] * (fat_count * SECTOR // 4 - len(fat)))
    body.extend(struct.pack(f"<{len(fat)}I", *fat))
    difat = list(range(fat_start, fat_start + fat_count)) + [FREESECT] * (HEADER_DIFAT - fat_count)
    header = (
        _MAGIC
        + bytes(16)
        + struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, fat_count, dir_start, 0,
                      MINI_CUTOFF, minifat_start, minifat_count, ENDOFCHAIN, 0)
        + struct.pack(f"<{HEADER_DIFAT}I", *difat)
    )  # fmt: skip
    return header + bytes(body)


def _entry_bytes(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le")
    return _ENTRY.pack(
        (name + b"\0\0").ljust(64, b"\0"), len(name) + 2, entry.kind, entry.color,
        entry.left, entry.right, entry.child, bytes(16), 0, 0, 0, entry.start, entry.size,
    )  # fmt: skip


def _empty_entry() -> bytes:
    return _ENTRY.pack(bytes(64), 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0, 0, 0)
