"""Renders table rows as SpreadsheetML ``<row>`` elements, exactly as XlsxWriter's constant-memory mode does.

The consolidated workbook's long tables are rendered here, in the worker processes that read
the inputs, so the parent only numbers the rows and copies bytes. Every row is rendered with
``ROW`` where its row number goes ("\\x00" cannot occur in the XML otherwise: control
characters in text are written as ``_xHHHH_`` escapes, as Excel and XlsxWriter do), so the
parent numbers a row with one ``bytes.replace``.

What a cell becomes follows XlsxWriter 3.x (``Worksheet._write_cell``, ``_xml_inline_string``,
``_xml_number_element``, ``_escape_control_characters``, ``_escape_data``): text is an inline
string (``t="inlineStr"``, ``xml:space="preserve"`` when it starts or ends with whitespace,
truncated to Excel's 32,767 UTF-16 units), a number is ``<v>`` in ``%.16G``, and a cell takes its
column's style. Unlike XlsxWriter, text shaped like a pre-rendered rich string (``<r>…</r>``)
is escaped like any other: every value is plain text, never markup or a formula.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from xlsxwriter.utility import xl_col_to_name

ROW = "\x00"
ROW_BYTES = ROW.encode()
# Excel's limit on the length of a cell's text, in UTF-16 code units.
MAX_TEXT = 32_767

# Anything that needs more than copying: XML's specials, characters Excel escapes as _xHHHH_,
# and literal text of that shape (whose underscore Excel escapes in turn).
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_ESCAPE_SHAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_INLINE = ' t="inlineStr"><is><t>'
_INLINE_PRESERVE = ' t="inlineStr"><is><t xml:space="preserve">'
_INLINE_END = "</t></is></c>"


def _control_escape(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"


def cell_text(text: str) -> str:
    """Return ``text`` as XlsxWriter writes it inside ``<t>``: truncated, control characters and XML escaped."""
    if len(text) > MAX_TEXT // 2 and len(text.encode("utf-16-le", "surrogatepass")) // 2 > MAX_TEXT:
        units = 0
        for index, char in enumerate(text):
            units += 2 if ord(char) > 0xFFFF else 1
            if units > MAX_TEXT:
                text = text[:index]
                break
    if _SPECIAL.search(text) is None:
        return text
    text = _CONTROL.sub(_control_escape, _ESCAPE_SHAPE.sub(r"_x005F\1", text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def number_text(value: Any) -> str:
    """Return the number ``value`` as XlsxWriter writes it inside ``<v>`` (raise ValueError if not finite)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"数值 {value} 不是有限数")
    return f"{number:.16G}"


def _plain(text: str) -> bool:
    """Return True when ``text`` is written as it is: nothing to escape, too short to truncate."""
    if len(text) > MAX_TEXT // 2 or "&" in text or "<" in text or ">" in text or "_x" in text:
        return False
    # isprintable is a fast C scan; text with a line break (or another unprintable) takes the regex.
    return text.isprintable() or _CONTROL.search(text) is None


class RowRenderer:
    """Renders rows of one table: a tuple per row, columns in order, each text or number with its style."""

    def __init__(self, numeric: Sequence[bool], styles: Sequence[int | None]) -> None:
        self.cells = [
            (c, is_number, f'<c r="{xl_col_to_name(c)}{ROW}"' + ("" if style is None else f' s="{style}"'))
            for c, (is_number, style) in enumerate(zip(numeric, styles, strict=True))
        ]
        self.text_columns = [c for c, is_number, _ in self.cells if not is_number]

    def row(self, values: Sequence[Any]) -> bytes:
        """Return the ``<row>`` element of ``values`` (b"" when every cell is empty; None or '' writes no cell)."""
        # Most rows need no escaping at all, which one check of all their text together shows.
        plain = _plain("".join([values[c] for c in self.text_columns if values[c]]))
        parts = ['<row r="', ROW, '">']
        for c, is_number, head in self.cells:
            value = values[c]
            if is_number:
                if value is None or value == "":
                    continue
                parts += (head, "><v>", number_text(value), "</v></c>")
            elif value:
                text = value if plain else cell_text(value)
                preserve = text[0].isspace() or text[-1].isspace()
                parts += (head, _INLINE_PRESERVE if preserve else _INLINE, text, _INLINE_END)
        if len(parts) == 3:
            return b""
        parts.append("</row>")
        return "".join(parts).encode()

    def rows(self, rows: Iterable[Sequence[Any]]) -> list[bytes]:
        """Return the ``<row>`` element of each of ``rows``."""
        row = self.row
        return [row(values) for values in rows]


def numbered(rows: Iterable[bytes], first: int) -> bytes:
    """Return ``rows`` joined, numbered from ``first`` (each ``ROW`` replaced by its row's number)."""
    return b"".join([row.replace(ROW_BYTES, b"%d" % n) for n, row in enumerate(rows, first)])
