"""xlwings books for the Excel tests: a workbook file as xlwings' remote engine receives it.

``remote_book`` builds the JSON an Office.js client sends (every sheet's values, its
visibility and the defined names) from a file read with python-calamine, and opens it with
``xw.Book(json=...)``, the path xlwings Server takes. What perfxl then does to the book is
recorded as the engine's actions (``book.json()["actions"]``), which the tests inspect.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import xlwings as xw
from python_calamine import CalamineWorkbook

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def book_json(path: Path) -> dict[str, Any]:
    """Return the remote engine's JSON for the workbook at ``path``."""
    sheets = []
    notes = noted_cells(path)
    with CalamineWorkbook.from_path(str(path)) as wb:
        for meta in wb.sheets_metadata:
            values = wb.get_sheet_by_name(meta.name).to_python(skip_empty_area=False) or [[]]
            sheets.append(
                {
                    "name": meta.name,
                    "values": values,
                    "visibility": "Visible" if str(meta.visible).endswith("Visible") else "Hidden",
                    "pictures": [], "shapes": [], "charts": [], "tables": [], "pivot_tables": [],
                    # Like Office.js, the payload says which cells have a note, not what it says.
                    "notes": [{"address": cell} for cell in notes.get(meta.name, [])],
                    "print_area": None, "show_gridlines": True,
                }
            )  # fmt: skip
    return {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
        "names": [_name(n, f) for n, f in defined_names(path).items()],
        "sheets": sheets,
    }


def _name(name: str, formula: str) -> dict[str, Any]:
    return {
        "name": name, "refers_to": f"={formula}", "sheet_index": None, "address": None,
        "book_scope": True, "scope_sheet_name": None, "scope_sheet_index": None,
    }  # fmt: skip


def defined_names(path: Path) -> dict[str, str]:
    """Return the workbook-level defined names of ``path`` (not Excel's own _xlnm names)."""
    with zipfile.ZipFile(path) as zf:
        root = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    return {
        e.get("name", ""): e.text or ""
        for e in root.iterfind("m:definedNames/m:definedName", NS)
        if e.get("localSheetId") is None and not e.get("name", "").startswith("_xlnm.")
    }


def noted_cells(path: Path) -> dict[str, list[str]]:
    """Return, per sheet, the cells of ``path`` that carry a note (legacy comment)."""
    book = openpyxl.load_workbook(path)
    return {ws.title: [c.coordinate for row in ws.iter_rows() for c in row if c.comment] for ws in book.worksheets}


def remote_book(path: Path, edit: Any = None) -> xw.Book:
    """Return the workbook at ``path`` opened through xlwings' remote engine (``edit`` may change the JSON first)."""
    data = book_json(path)
    if edit is not None:
        edit(data)
    return xw.Book(json=data)


def actions(book: xw.Book, func: str | None = None) -> list[dict[str, Any]]:
    """Return what perfxl asked the workbook to do, optionally only the actions named ``func``."""
    done: list[dict[str, Any]] = book.json()["actions"]
    return [a for a in done if func is None or a["func"] == func]
