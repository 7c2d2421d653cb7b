"""Real department workbooks for the package-editing tests, built from the two example documents."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import xlwings

from perfxl.readers import read_source
from perfxl.writers.opc import Package, Workbook
from perfxl.writers.workbook import write_department_workbook

EXAMPLES = Path(__file__).parent.parent / "examples"
CHENGDE = EXAMPLES / "chengde-2025.txt"
ZUNHUA = EXAMPLES / "zunhua-2025.txt"
# A small, valid VBA project shipped with the installed xlwings (an Excel-saved workbook).
XLWINGS_XLSM = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
RIBBON_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
CUSTOM_UI = (
    '<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"><ribbon><tabs>'
    '<tab id="perfxl" label="绩效目标"><group id="g" label="校验"><button id="v" label="校验" '
    'onAction="Ribbon.Validate" imageMso="MacroPlay"/></group></tab></tabs></ribbon></customUI>'
)


def build_book(source: Path, target: Path) -> Path:
    """Return a department workbook written from the published document ``source``."""
    return write_department_workbook(read_source(source).department, target)


def vba_project() -> bytes:
    """Return the vbaProject.bin of xlwings' standalone quickstart workbook."""
    with zipfile.ZipFile(XLWINGS_XLSM) as zf:
        return zf.read("xl/vbaProject.bin")


def build_xlsm(source: Path, target: Path) -> Path:
    """Return a macro-enabled department workbook with a VBA project and a ribbon (customUI14) part."""
    plain = write_department_workbook(read_source(source).department, target, vba_project=vba_project())
    parts = read_parts(plain)
    rels = parts["_rels/.rels"].decode()
    ribbon = f'<Relationship Id="rIdRibbon" Type="{RIBBON_REL}" Target="customUI/customUI14.xml"/>'
    parts["_rels/.rels"] = rels.replace("</Relationships>", ribbon + "</Relationships>").encode()
    parts["customUI/customUI14.xml"] = CUSTOM_UI.encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return target


def read_parts(path: Path) -> dict[str, bytes]:
    """Return every zip entry of ``path`` by name, in package order."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def digest(path: Path) -> str:
    """Return the SHA-256 of the file at ``path``."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sheet_parts(path: Path) -> dict[str, str]:
    """Return the part name of every sheet of ``path``, by sheet name."""
    return {s.name: s.part for s in Workbook(Package.open(path)).sheets()}


def rewrite(path: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """Return ``target``: a copy of ``path`` with the parts in ``changes`` replaced."""
    parts = read_parts(path)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, changes.get(name, data))
    return target


def assert_well_formed(path: Path) -> None:
    """Fail unless every XML part of ``path`` parses (LibreOffice alone forgives broken XML)."""
    for name, data in read_parts(path).items():
        if name.endswith((".xml", ".rels", ".vml")):
            ElementTree.fromstring(data)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Make ``path`` refuse being opened for writing and being replaced, as Excel does on Windows."""
    # Linux has no mandatory locks; the immutable attribute fails both with EPERM. Setting it
    # needs root (CAP_LINUX_IMMUTABLE), which CI has.
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"chattr +i needs root, as in CI: {done.stderr.strip()}"
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
