"""Errors that stop reading a source; their messages are Chinese and name the file."""

from __future__ import annotations

# Why a workbook cannot be written, as users meet it: Excel and WPS lock the files they have open.
LOCKED_HINT = "是否正在 Excel 或 WPS 中打开？"


class SourceError(Exception):
    """A source could not be read at all (junk, unknown layout, corrupt file)."""

    def __init__(self, file: str, message: str, *, line: int | None = None, place: str | None = None) -> None:
        self.file = file
        self.message = message
        self.line = line
        self.place = place
        where = f"{file}" + (f" 第 {line} 行" if line is not None else f" {place}" if place else "")
        super().__init__(f"{where}：{message}")
