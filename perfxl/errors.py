"""Errors that stop reading a source; their messages are Chinese and name the file."""

from __future__ import annotations

import errno

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


# Chinese for the operating-system errors users meet when reading and writing files; the
# platform's own strerror text is English (and on Chinese Windows, in the console's codepage).
_OS_REASONS = {
    errno.ENOENT: "文件或文件夹不存在",
    errno.EACCES: "没有访问权限，或文件正被其他程序占用",
    errno.EPERM: "没有访问权限，或文件正被其他程序占用",
    errno.EISDIR: "这是一个文件夹，不是文件",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.ENAMETOOLONG: "文件名太长",
    errno.EEXIST: "已有同名的文件",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "所在磁盘只读",
    errno.EINVAL: "文件名无效",
}


def os_reason(exc: OSError) -> str:
    """Return why ``exc`` happened, in Chinese, falling back to the system's text for rare errors."""
    # On Windows a sharing violation (winerror 32, a file open in Excel) arrives as errno EACCES.
    reason = _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    return reason or f"系统错误：{exc.strerror or exc}"
