"""Write a source-only VBA project (``vbaProject.bin``) from plain-text modules, as MS-OVBA describes.

The project holds no compiled code: ``_VBA_PROJECT`` is version 0xFFFF with no performance
cache and every module stream is compressed source at offset 0 (MS-OVBA 2.3.4.1, "MUST be
0xFFFF on write"; 1.6, so that "performance caches are ignored"), so Excel compiles the modules
from source when it opens the file. This is also how the files xlwings ships are made
(Aspose.Cells), and how LibreOffice and vbamc write projects.

Why perfxl has its own writer instead of pyOpenVBA (evaluated at 6.5.0, MIT, stdlib only):
pyOpenVBA creates a project by copying a project Excel saved (its baked-in
``blank_workbook.xlsm``) and editing it. Its public API keeps that project's host version
(0x00B5) and only zeroes the 2,539-byte performance cache; it offers no way to write the
7-byte 0xFFFF stream without reaching into its private ``_get_cfb()``, its compound-file
class can only rewrite an existing file, and the new project carries the template's fixed
project ID, reference list and window layout rather than anything built from our sources. Its
modules do become source-only once edited. So it cannot produce the spec's source-only 0xFFFF
project through its supported interface, and what is needed here is small: MS-OVBA
compression (2.4.1), the PROJECT-stream data encryption (2.4.3), the dir records (2.3.4.2)
and a compound file (``perfxl.excel.cfb``).

Everything is deterministic: the project ID is derived from the module names and the
encryption seeds are fixed, so equal modules give equal bytes.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from perfxl.excel.cfb import compound_file

# VB_Base of the three kinds of modules that are not standard modules.
WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"

# Libraries the project references: OLE Automation, and the Office library that declares
# IRibbonControl. The paths are only hints; VBA resolves a reference by GUID and version.
REFERENCES: tuple[tuple[str, str], ...] = (
    ("stdole", r"*\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\Windows\System32\stdole2.tlb#OLE Automation"),
    (
        "Office",
        r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\Program Files\Common Files\Microsoft Shared"
        r"\OFFICE16\MSO.DLL#Microsoft Office 16.0 Object Library",
    ),
)
PROJECT_NAME = "VBAProject"
# MS-OVBA 2.3.4.2.1.3: the LCIDs MUST be 0x409 whatever the language; only the code page varies.
LCID = 0x409
SYSKIND_WIN64 = 3
# Sources are ASCII (the VBA editor is an ANSI editor), so Western code page 1252 reads them anywhere.
CODEPAGE = 1252
MAX_MODULE_NAME = 31
_VBA_PROJECT_STREAM = bytes.fromhex("CC61FFFF000100")
_ID_NAMESPACE = uuid.UUID("5f0f3c52-7a43-4a4e-9c51-2f1d0d6e7a11")
_HOST_EXTENDER = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_VB_NAME_RE = re.compile(r'\AAttribute VB_Name = "([^"]*)"\r\n')
_CLASS_HEADER_RE = re.compile(r"\AVERSION 1\.0 CLASS\r\nBEGIN\r\n(?:.*\r\n)*?END\r\n")
_ATTRIBUTE_RE = re.compile(r'Attribute (VB_\w+) = ("[^"]*"|\S+)\r\n')
_CLASS_ATTRIBUTES = ("VB_GlobalNameSpace", "VB_Creatable", "VB_PredeclaredId", "VB_Exposed")
CHUNK = 4096


class ModuleKind(Enum):
    """The three module kinds a project lists: standard (``Module=``), class, and document."""

    STANDARD = "Module"
    CLASS = "Class"
    DOCUMENT = "Document"


@dataclass(frozen=True)
class Module:
    """One VBA module as stored: ``code`` is its source with the ``Attribute`` lines, CRLF line ends."""

    name: str
    kind: ModuleKind
    code: str


def crlf(text: str) -> str:
    """Return ``text`` with every line ending CRLF and a final line break."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return "".join(line + "\r\n" for line in lines)


def standard_module(source: str) -> Module:
    """Return the standard module of a ``.bas`` file's text, named by its ``Attribute VB_Name`` line."""
    code = crlf(source)
    return Module(_vb_name(code), ModuleKind.STANDARD, code)


def class_module(exported: str) -> Module:
    """Return the class module of an exported ``.cls`` file's text, in the form VBA stores it.

    The export's ``VERSION 1.0 CLASS`` block goes; ``VB_Base`` and the template attributes
    are added in the order the VBA editor writes them, and the file's other attributes (such
    as ``VB_Description``) follow.
    """
    text = _CLASS_HEADER_RE.sub("", crlf(exported), count=1)
    attributes: dict[str, str] = {}
    at = 0
    for m in _ATTRIBUTE_RE.finditer(text):
        if m.start() != at:
            break
        attributes[m.group(1)] = m.group(2)
        at = m.end()
    name = attributes.pop("VB_Name", "").strip('"')
    head = [f'Attribute VB_Name = "{name}"', f'Attribute VB_Base = "{CLASS_BASE}"']
    head += [f"Attribute {key} = {attributes.pop(key, 'False')}" for key in _CLASS_ATTRIBUTES]
    head += ["Attribute VB_TemplateDerived = False", "Attribute VB_Customizable = False"]
    head += [f"Attribute {key} = {value}" for key, value in attributes.items()]
    code = "".join(line + "\r\n" for line in head) + text[at:]
    return Module(_vb_name(code), ModuleKind.CLASS, code)


def document_module(name: str, base: str) -> Module:
    """Return the empty document module of the workbook or a sheet whose code name is ``name``."""
    code = (
        f'Attribute VB_Name = "{name}"\r\nAttribute VB_Base = "{base}"\r\n'
        "Attribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\n"
        "Attribute VB_PredeclaredId = True\r\nAttribute VB_Exposed = True\r\n"
        "Attribute VB_TemplateDerived = False\r\nAttribute VB_Customizable = True\r\n"
    )
    return Module(name, ModuleKind.DOCUMENT, code)


def _vb_name(code: str) -> str:
    m = _VB_NAME_RE.match(code)
    if m is None:
        raise ValueError("a module's source must start with its Attribute VB_Name line")
    return m.group(1)


def vba_project(modules: Sequence[Module]) -> bytes:
    """Return the bytes of a source-only ``vbaProject.bin`` holding ``modules`` in the given order."""
    _check(modules)
    ordered = [m for m in modules if m.kind is ModuleKind.DOCUMENT] + [
        m for m in modules if m.kind is not ModuleKind.DOCUMENT
    ]
    project_id = "{" + str(uuid.uuid5(_ID_NAMESPACE, "\n".join(m.name for m in ordered))).upper() + "}"
    streams = {
        "PROJECT": _project_stream(ordered, project_id),
        "PROJECTwm": _projectwm(ordered),
        "VBA/_VBA_PROJECT": _VBA_PROJECT_STREAM,
        "VBA/dir": compress(_dir_stream(ordered)),
    }
    for m in ordered:
        streams[f"VBA/{m.name}"] = compress(m.code.encode("ascii"))
    return compound_file(streams)


def _check(modules: Sequence[Module]) -> None:
    seen: set[str] = set()
    for m in modules:
        if not _NAME_RE.fullmatch(m.name) or len(m.name) > MAX_MODULE_NAME:
            raise ValueError(f"invalid module name: {m.name!r}")
        if m.name.lower() in seen:
            raise ValueError(f"module name used twice (names ignore case): {m.name}")
        seen.add(m.name.lower())
        if _vb_name(m.code) != m.name:
            raise ValueError(f"module {m.name}: Attribute VB_Name names another module")
        if not m.code.isascii():
            raise ValueError(f"module {m.name}: VBA source must be ASCII (the VBA editor is not Unicode)")


# ---------------------------------------------------------------------------------------------
# The PROJECT and PROJECTwm streams (MS-OVBA 2.3.1, 2.3.3)
# ---------------------------------------------------------------------------------------------


def _project_stream(modules: Sequence[Module], project_id: str) -> bytes:
    lines = [f'ID="{project_id}"']
    for m in modules:
        lines.append(f"Document={m.name}/&H00000000" if m.kind is ModuleKind.DOCUMENT else f"{m.kind.value}={m.name}")
    lines += [f'Name="{PROJECT_NAME}"', 'HelpContextID="0"', 'VersionCompatible32="393222000"']
    # Not protected, no password, visible; each encrypted with the project key (MS-OVBA 2.4.3).
    for key, data, seed in (("CMG", bytes(4), 0x25), ("DPB", b"\x00", 0x13), ("GC", b"\xff", 0x31)):
        lines.append(f'{key}="{encrypt(data, project_id, seed)}"')
    lines += ["", "[Host Extender Info]", _HOST_EXTENDER, "", "[Workspace]"]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return "".join(line + "\r\n" for line in lines).encode("ascii")


def encrypt(data: bytes, project_id: str, seed: int) -> str:
    """Return ``data`` encrypted as a PROJECT-stream CMG/DPB/GC value (MS-OVBA 2.4.3.2), in hex."""
    key = sum(project_id.encode("ascii")) & 0xFF
    version_enc, key_enc = seed ^ 2, seed ^ key
    out = bytearray((seed, version_enc, key_enc))
    plain, enc1, enc2 = key, key_enc, version_enc
    # The spec leaves the ignored bytes' values open; zeros keep the output reproducible.
    for byte in bytes((seed & 6) // 2) + struct.pack("<I", len(data)) + data:
        byte_enc = byte ^ ((enc2 + plain) & 0xFF)
        out.append(byte_enc)
        enc2, enc1, plain = enc1, byte_enc, byte
    return out.hex().upper()


def _projectwm(modules: Sequence[Module]) -> bytes:
    out = bytearray()
    for m in modules:
        out += m.name.encode("ascii") + b"\0" + m.name.encode("utf-16-le") + b"\0\0"
    return bytes(out + b"\0\0")


# ---------------------------------------------------------------------------------------------
# The dir stream (MS-OVBA 2.3.4.2)
# ---------------------------------------------------------------------------------------------


def _record(rid: int, data: bytes) -> bytes:
    return struct.pack("<HI", rid, len(data)) + data


def _u16(value: int) -> bytes:
    return struct.pack("<H", value)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _dir_stream(modules: Sequence[Module]) -> bytes:
    mbcs = "ascii"
    out = bytearray()
    out += _record(0x0001, _u32(SYSKIND_WIN64))
    out += _record(0x0002, _u32(LCID))
    out += _record(0x0014, _u32(LCID))
    out += _record(0x0003, _u16(CODEPAGE))
    out += _record(0x0004, PROJECT_NAME.encode(mbcs))
    out += _record(0x0005, b"") + _record(0x0040, b"")  # docstring, MBCS then Unicode
    out += _record(0x0006, b"") + _record(0x003D, b"")  # help file, twice
    out += _record(0x0007, _u32(0))  # help context
    out += _record(0x0008, _u32(0))  # library flags
    # PROJECTVERSION: Reserved (4) then major and minor, not length-prefixed like the others.
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)
    out += _record(0x000C, b"") + _record(0x003C, b"")  # constants, MBCS then Unicode
    for name, libid in REFERENCES:
        out += _record(0x0016, name.encode(mbcs)) + _record(0x003E, name.encode("utf-16-le"))
        registered = _u32(len(libid)) + libid.encode(mbcs) + _u32(0) + _u16(0)
        out += _record(0x000D, registered)
    out += _record(0x000F, _u16(len(modules)))
    out += _record(0x0013, _u16(0xFFFF))  # project cookie
    for m in modules:
        out += _record(0x0019, m.name.encode(mbcs)) + _record(0x0047, m.name.encode("utf-16-le"))
        out += _record(0x001A, m.name.encode(mbcs)) + _record(0x0032, m.name.encode("utf-16-le"))
        out += _record(0x001C, b"") + _record(0x0048, b"")  # module docstring
        out += _record(0x0031, _u32(0))  # source at offset 0: no compiled code before it
        out += _record(0x001E, _u32(0))  # help context
        out += _record(0x002C, _u16(0xFFFF))  # module cookie
        out += _record(0x0021 if m.kind is ModuleKind.STANDARD else 0x0022, b"")
        out += _record(0x002B, b"")  # module terminator
    out += _record(0x0010, b"")  # dir terminator
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Compression (MS-OVBA 2.4.1)
# ---------------------------------------------------------------------------------------------


def compress(data: bytes) -> bytes:
    """Return ``data`` as an MS-OVBA CompressedContainer."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        out += _chunk(data[start : start + CHUNK])
    return bytes(out)


def _chunk(chunk: bytes) -> bytes:
    """Return one CompressedChunk: header, then flag bytes each followed by up to 8 tokens."""
    body = bytearray()
    tokens = _tokens(chunk)
    while True:
        group = [t for _, t in zip(range(8), tokens, strict=False)]
        if not group:
            break
        flags = sum(1 << i for i, t in enumerate(group) if len(t) == 2)
        body.append(flags)
        for token in group:
            body += token
    if len(body) > CHUNK:
        # Incompressible: a raw chunk, which always holds 4,096 bytes (MS-OVBA 2.4.1.3.10).
        return _u16(0x3000 | (CHUNK - 1)) + chunk.ljust(CHUNK, b"\0")
    return _u16(0xB000 | (len(body) + 2 - 3)) + bytes(body)


def _tokens(chunk: bytes) -> Iterator[bytes]:
    """Yield the chunk's tokens: a literal byte, or a 2-byte copy token for a match of 3 or more."""
    pos = 0
    while pos < len(chunk):
        length, offset = _match(chunk, pos)
        if length >= 3:
            bits = max((pos - 1).bit_length(), 4)
            max_length = (0xFFFF >> bits) + 3
            length = min(length, max_length)
            yield _u16(((offset - 1) << (16 - bits)) | (length - 3))
            pos += length
        else:
            yield chunk[pos : pos + 1]
            pos += 1


def _match(chunk: bytes, pos: int) -> tuple[int, int]:
    """Return the longest earlier match for ``chunk[pos:]`` (the nearest among equals) and its offset.

    A match may run past ``pos`` into the bytes it copies, as the format allows. ``rfind``
    finds the nearest candidate that matches at least ``length`` bytes; growing ``length``
    past each candidate's real match gives the same result as MS-OVBA's exhaustive search.
    """
    best, offset = 0, 0
    length = 3
    while pos + length <= len(chunk):
        candidate = chunk.rfind(chunk[pos : pos + length], 0, pos - 1 + length)
        if candidate < 0:
            break
        run = length
        while pos + run < len(chunk) and chunk[candidate + run] == chunk[pos + run]:
            run += 1
        best, offset = run, pos - candidate
        length = run + 1
    return best, offset
