"""Headless LibreOffice for tests and scripts: a throwaway profile that always recalculates.

LibreOffice by default trusts the cached values of an .xlsx on load ("never recalculate");
the profile written here sets ``OOXMLRecalcMode`` to 0 (always), so what LibreOffice shows
is what the formulas compute, not what perfxl cached.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import tempfile
from pathlib import Path

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
TIMEOUT_SECONDS = 180

_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""
# CSV filter options: comma, double quote, UTF-8, first line 1, no column formats, language
# default, quote text, detect numbers, save as shown, export formulas no, keep spaces, and the
# last token -1: one file per sheet, named <stem>-<sheet>.csv.
CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true,true,false,false,-1"


class LibreOfficeError(RuntimeError):
    """LibreOffice could not open or convert a file."""


def make_profile(folder: Path) -> Path:
    """Write a LibreOffice user profile that recalculates every formula on load; return its folder."""
    user = folder / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(_PROFILE, encoding="utf-8")
    return folder


def convert(source: Path, target_filter: str, outdir: Path, *, profile: Path | None = None) -> list[Path]:
    """Convert ``source`` with LibreOffice into ``outdir``; return the files written (raise if none)."""
    if SOFFICE is None:
        raise LibreOfficeError("soffice is not installed")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perfxl-lo-") as tmp:
        prof = profile or make_profile(Path(tmp) / "profile")
        before = set(outdir.iterdir())
        done = subprocess.run(
            [
                SOFFICE, "--headless", "--norestore", "--nolockcheck",
                f"-env:UserInstallation={prof.resolve().as_uri()}",
                "--convert-to", target_filter, "--outdir", str(outdir), str(source),
            ],
            capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
        )  # fmt: skip
    written = sorted(set(outdir.iterdir()) - before)
    if done.returncode != 0 or not written or "Error:" in done.stdout + done.stderr:
        raise LibreOfficeError(f"soffice failed on {source} (rc={done.returncode}): {done.stdout}{done.stderr}")
    return written


def sheets_as_csv(book: Path, outdir: Path) -> dict[str, list[list[str]]]:
    """Return every sheet of ``book`` as LibreOffice renders it (recalculated), keyed by sheet name."""
    files = convert(book, CSV_ALL_SHEETS, outdir)
    prefix = f"{book.stem}-"
    result = {}
    for file in files:
        with file.open(encoding="utf-8", newline="") as fh:
            result[file.stem.removeprefix(prefix)] = list(csv.reader(fh))
    return result
