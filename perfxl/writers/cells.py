"""Writing untrusted text into XlsxWriter cells so that it stays text.

``write_string`` alone is not enough: XlsxWriter passes any string that starts with ``<r>`` and
ends with ``</r>`` into the sheet (constant-memory mode) or the shared-string table unescaped,
taking it for a pre-rendered rich string. A project name shaped like that could close its cell
and inject a ``<f>HYPERLINK(…)</f>`` formula, or corrupt the workbook.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet


def write_text(ws: Worksheet, row: int, col: int, text: str, cell_format: Any = None) -> None:
    """Write ``text`` into the cell as plain text (never as XML or a formula); return None."""
    if text.startswith("<r>") and text.endswith("</r>"):
        # As a rich string of plain fragments every fragment is escaped; the cell reads back
        # exactly as ``text``.
        fragments = (text[:1], text[1:2], text[2:])
        ws.write_rich_string(row, col, *fragments, *(() if cell_format is None else (cell_format,)))
    else:
        ws.write_string(row, col, text, cell_format)
