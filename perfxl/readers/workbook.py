"""Reads a department workbook (.xlsx/.xlsm) into the model, finding every field by its label.

Sheets are recognised by what they hold, never by name or position: the 部门 sheet by its
单位编码/单位名称 labels, a project sheet by a 项目编码 label (or a variant) above the indicator
table header. Values come from python-calamine (cached formula values); the two things calamine
cannot tell apart from an empty cell, error values and formulas saved without a value, come
from one cheap scan of the sheet's XML.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TypeGuard
from xml.etree import ElementTree

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

from perfxl.errors import SourceError
from perfxl.layout import (
    CONF_SHEET,
    DEPT_LABELS,
    INDICATOR_HEADER,
    ISSUES_SHEET,
    LABEL_BUDGET,
    LABEL_CODE,
    LABEL_CODE_VARIANTS,
    LABEL_FISCAL,
    LABEL_FISCAL_VARIANTS,
    LABEL_GOAL,
    LABEL_MONEY_BLOCK,
    LABEL_NAME,
    LABEL_OTHER,
    LABEL_PLAN,
    LABEL_PLAN_VARIANTS,
    LABEL_UNIT,
    LABEL_USE,
    LISTS_SHEET,
    PLAN_LABELS,
    SUB_GOAL_HEADER,
    SUMMARY_SHEET,
)
from perfxl.model import Department, Finding, Indicator, Location, Project, ReadResult, Severity, SubGoal
from perfxl.textnorm import halfwidth, label_key, squash
from perfxl.values import parse_amount, parse_percent

Cell = str | float | int | bool | datetime | date | time | timedelta
Pos = tuple[int, int]

SKIP_SHEETS = frozenset({ISSUES_SHEET, SUMMARY_SHEET, LISTS_SHEET, CONF_SHEET})
# Bounds against zip bombs and absurd sheets: a 绩效目标表 is a few dozen KB of XML.
MAX_TOTAL_BYTES = 1 << 30
MAX_SHEET_BYTES = 64 << 20
MAX_PART_BYTES = 16 << 20
MAX_LABEL_CHARS = 40
# Merged ranges up to this many cells are indexed cell by cell; bigger ones are searched.
MAX_INDEXED_MERGE = 4096

STR_CODE = "PT-STR-001"
MONEY_CODE = "PT-FIN-004"
PLAN_CODE = "PT-PLAN-002"
NO_PROJECT_MESSAGE = (
    "未找到项目绩效目标表：没有任何工作表同时含有「项目编码」和指标表头（一级指标、二级指标、三级指标…）"
)
NO_CACHE_MESSAGE = "单元格 {cell} 的公式没有保存计算结果，请先用 Excel 或 WPS 打开并保存此文件，再重新读取"

_INDICATOR_FIELDS: tuple[str, ...] = ("level1", "level2", "level3", "description", "value", "basis")
_SUB_GOAL_FIELDS: tuple[str, ...] = ("title", "use", "goal", "indicators")
_UNIT_RE = re.compile(r"^单位[:：]?\s*(?P<code>\d{3,})\s*(?P<name>.*)$")
_ORDINAL_RE = re.compile(r"^\s*(?P<n>\d{1,4})\s*[.．、]")
_YEAR_RE = re.compile(r"^(?P<y>\d{4})\s*年?度?$")

_CELL_RE = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF_RE = re.compile(rb'\br="([A-Z]{1,3}[0-9]{1,7})"')
_ERROR_TYPE_RE = re.compile(rb'\bt="e"')
_FORMULA_RE = re.compile(rb"<(?:\w+:)?f\b")
_VALUE_RE = re.compile(rb"<(?:\w+:)?v>([^<]+)</(?:\w+:)?v>")


@lru_cache(maxsize=8192)
def _key(text: str) -> str:
    """Return the comparison key of a label cell; a trailing colon (项目编码：) is ignored."""
    return label_key(text).rstrip(":")


_FORM_LABEL_KEYS = frozenset(
    _key(label)
    for label in (
        LABEL_CODE, *LABEL_CODE_VARIANTS, LABEL_NAME, LABEL_MONEY_BLOCK, LABEL_BUDGET, LABEL_FISCAL,
        *LABEL_FISCAL_VARIANTS, LABEL_OTHER, LABEL_USE, LABEL_PLAN, *LABEL_PLAN_VARIANTS, LABEL_GOAL,
    )
)  # fmt: skip


def a1(row: int, col: int) -> str:
    """Return the A1 address of a 0-based (row, column)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def cell_text(value: Cell) -> str:
    """Return a cell value as the text a person sees (numbers without a trailing .0)."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return format(_plain(Decimal(repr(value))), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _plain(number: Decimal) -> Decimal:
    """Return ``number`` without trailing zeros and never in exponent form (30.0 → 30)."""
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


@dataclass
class _Grid:
    """One sheet's values by 0-based (row, column), with its merged ranges and label index."""

    name: str
    rows: list[list[Cell]]
    merges: list[tuple[int, int, int, int]]
    labels: dict[str, list[Pos]] = field(default_factory=dict)
    spans: dict[Pos, int] = field(default_factory=dict)
    locations: dict[Pos, Location] = field(default_factory=dict)
    hidden: dict[Pos, tuple[int, int, int, int]] = field(default_factory=dict)
    huge: list[tuple[int, int, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for merge in self.merges:
            r0, c0, r1, c1 = merge
            self.spans[(r0, c0)] = c1
            if (r1 - r0 + 1) * (c1 - c0 + 1) > MAX_INDEXED_MERGE:
                self.huge.append(merge)
                continue
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if (r, c) != (r0, c0):
                        self.hidden[(r, c)] = merge
        for r, row in enumerate(self.rows):
            for c, value in enumerate(row):
                if isinstance(value, str) and value.strip() and len(value) <= MAX_LABEL_CHARS:
                    self.labels.setdefault(_key(value), []).append((r, c))

    def get(self, pos: Pos) -> Cell:
        r, c = pos
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return ""

    def text(self, pos: Pos) -> str:
        return squash(cell_text(self.get(pos)))

    def find(self, labels: tuple[str, ...], *, below: int = 0, above: int | None = None) -> tuple[Pos, str] | None:
        """Return the first cell (in reading order) holding one of ``labels``, and its text."""
        hits = [
            pos
            for label in labels
            for pos in self.labels.get(_key(label), ())
            if pos[0] >= below and (above is None or pos[0] < above)
        ]
        if not hits:
            return None
        pos = min(hits)
        return pos, squash(cell_text(self.get(pos)))

    def beside(self, pos: Pos) -> Pos:
        """Return the value cell of the label at ``pos``: the first cell right of its merge."""
        return pos[0], self.spans.get(pos, pos[1]) + 1

    def covering(self, pos: Pos) -> tuple[int, int, int, int] | None:
        """Return the merged range that hides ``pos`` (covers it without starting there)."""
        found = self.hidden.get(pos)
        if found is not None or not self.huge:
            return found
        r, c = pos
        for merge in self.huge:
            r0, c0, r1, c1 = merge
            if r0 <= r <= r1 and c0 <= c <= c1 and (r, c) != (r0, c0):
                return merge
        return None

    def loc(self, file: str, pos: Pos) -> Location:
        # Locations are frozen, so one instance per cell is shared by every field that cites it.
        found = self.locations.get(pos)
        if found is None:
            found = self.locations[pos] = Location(file=file, sheet=self.name, cell=a1(*pos))
        return found


@dataclass
class _Problem:
    """A cell problem met while parsing, before the project it belongs to is known."""

    code: str
    severity: Severity
    message: str
    sheet: str
    cell: str
    field: str = ""
    value: str = ""


def read_workbook(path: Path) -> ReadResult:
    """Return the department parsed from the workbook at ``path``, or raise SourceError."""
    file = str(path)
    parts = _sheet_parts(path, file)
    grids: list[_Grid] = []
    problems: list[_Problem] = []
    try:
        with CalamineWorkbook.from_path(file) as book:
            for meta in book.sheets_metadata:
                if meta.name in SKIP_SHEETS or meta.typ != SheetTypeEnum.WorkSheet:
                    continue
                size = parts.get(meta.name, ("", 0))[1]
                if size > MAX_SHEET_BYTES:
                    problems.append(
                        _Problem(
                            STR_CODE, Severity.WARNING,
                            f"工作表「{meta.name}」解压后达 {size // 2**20} MB，不像绩效目标表，未读取",
                            meta.name, "A1",
                        )
                    )  # fmt: skip
                    continue
                sheet = book.get_sheet_by_name(meta.name)
                merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []]
                grids.append(_Grid(meta.name, sheet.to_python(skip_empty_area=False), merges))
    except PasswordError:
        raise SourceError(file, "工作簿已加密，请先在 Excel 或 WPS 中取消密码后另存") from None
    except (CalamineError, ValueError, OSError) as exc:
        raise SourceError(file, f"工作簿已损坏或格式无法识别（{exc}）；请用 Excel 或 WPS 打开后另存为 .xlsx") from None
    return _Reader(path, file, grids, parts, problems).read()


def _sheet_parts(path: Path, file: str) -> dict[str, tuple[str, int]]:
    """Return each sheet's XML part and uncompressed size, after checking the file is a sane workbook."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            total = sum(i.file_size for i in infos.values())
            if total > MAX_TOTAL_BYTES:
                raise SourceError(file, f"工作簿解压后达 {total // 2**20} MB，超过上限，疑似异常文件，未读取")
            if any(i.flag_bits & 0x1 for i in infos.values()):
                raise SourceError(file, "工作簿已加密，请先在 Excel 或 WPS 中取消密码后另存")
            book_part = _office_document(zf, infos)
            if book_part is None:
                raise SourceError(file, "这不是 Excel 工作簿（可能是 Word 文档或其他压缩文件）")
            rels_part = posixpath.join(posixpath.dirname(book_part), "_rels", posixpath.basename(book_part) + ".rels")
            targets = {
                e.get("Id", ""): _resolve(book_part, e.get("Target", ""))
                for e in _xml(zf, infos, rels_part).iter()
                if e.tag.endswith("Relationship")
            }
            parts: dict[str, tuple[str, int]] = {}
            for e in _xml(zf, infos, book_part).iter():
                if e.tag.endswith("}sheet"):
                    rid = next((v for k, v in e.attrib.items() if k.endswith("}id")), "")
                    part = targets.get(rid, "")
                    parts[e.get("name", "")] = (part, infos[part].file_size if part in infos else 0)
            return parts
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, OSError, EOFError) as exc:
        raise SourceError(file, f"工作簿已损坏或不是 .xlsx/.xlsm 文件（{exc}）") from None


def _office_document(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> str | None:
    if "_rels/.rels" in infos:
        for e in _xml(zf, infos, "_rels/.rels").iter():
            if e.get("Type", "").endswith("/officeDocument"):
                part = _resolve("", e.get("Target", ""))
                return part if part in infos and part.endswith(".xml") and "workbook" in part.lower() else None
    return "xl/workbook.xml" if "xl/workbook.xml" in infos else None


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _xml(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], part: str) -> ElementTree.Element:
    info = infos[part]
    if info.file_size > MAX_PART_BYTES:
        raise zipfile.BadZipFile(f"{part} 过大")
    return ElementTree.fromstring(zf.read(info))


def scan_sheet_xml(data: bytes) -> Iterator[tuple[str, str, str]]:
    """Yield ``(cell, kind, value)`` per error cell (``error``) and formula saved without a value (``nocache``)."""
    # Plain substring tests first: most sheets hold neither, and these are far cheaper than a regex.
    # "<f>"/"<f " and their prefixed forms match a cell formula but not <formula1> of a dropdown.
    if b't="e"' not in data and not any(tag in data for tag in (b"<f>", b"<f ", b":f>", b":f ")):
        return
    for m in _CELL_RE.finditer(data):
        attrs, body = m.group(1), m.group(2) or b""
        ref = _REF_RE.search(attrs)
        if ref is None:
            continue
        value = _VALUE_RE.search(body)
        if _ERROR_TYPE_RE.search(attrs):
            yield ref.group(1).decode(), "error", value.group(1).decode("utf-8", "replace") if value else ""
        elif _FORMULA_RE.search(body) and value is None:
            yield ref.group(1).decode(), "nocache", ""


class _Reader:
    """Parses the grids of one workbook into a department."""

    def __init__(
        self, path: Path, file: str, grids: list[_Grid], parts: dict[str, tuple[str, int]], problems: list[_Problem]
    ) -> None:
        self.path = path
        self.file = file
        self.grids = grids
        self.parts = parts
        self.problems = problems

    def read(self) -> ReadResult:
        dept = Department(source_file=self.file)
        dept_grid = next((g for g in self.grids if self._is_department(g)), None)
        if dept_grid is not None:
            self._department(dept_grid, dept)
        forms: list[tuple[int, int, Project]] = []
        for index, grid in enumerate(self.grids):
            table = _indicator_header(grid)
            code = grid.find((LABEL_CODE, *LABEL_CODE_VARIANTS), above=table[0]) if table else None
            if table is None or code is None:
                continue
            project, ordinal = _ProjectReader(self, grid, code, table).read()
            # The title's number (as in the published document) orders the projects, so
            # reordering the sheet tabs does not reorder the department.
            forms.append((ordinal if ordinal is not None else 1 << 30, index, project))
        if not forms:
            raise SourceError(self.file, NO_PROJECT_MESSAGE)
        dept.projects = [p for _, _, p in sorted(forms, key=lambda t: t[:2])]
        if not dept.unit_code:
            first = dept.projects[0]
            dept.unit_code, dept.unit_name = first.unit_code, first.unit_name
            for key in ("unit_code", "unit_name"):
                if key in first.sources:
                    dept.sources[key] = first.sources[key]
        for p in dept.projects:
            p.unit_code = p.unit_code or dept.unit_code
            p.unit_name = p.unit_name or dept.unit_name
        parsed = {p.sheet for p in dept.projects} | ({dept_grid.name} if dept_grid else set())
        self._scan_xml(parsed)
        return ReadResult(department=dept, findings=self._findings(dept))

    # --- problems ------------------------------------------------------------------------------

    def problem(
        self, grid: _Grid, pos: Pos, code: str, severity: Severity, message: str, field: str = "", value: str = ""
    ) -> None:
        self.problems.append(_Problem(code, severity, message, grid.name, a1(*pos), field, value))

    def check_cover(self, grid: _Grid, pos: Pos, what: str, field: str) -> None:
        """Report a merged range that hides the cell where ``what`` should be."""
        merge = grid.covering(pos)
        if merge is None:
            return
        text = grid.text(pos)
        rng = f"{a1(merge[0], merge[1])}:{a1(merge[2], merge[3])}"
        message = (
            f"{what}所在的单元格 {a1(*pos)} 被合并单元格 {rng} 遮住，其中的「{text}」在表格中看不到"
            if text
            else f"应填写{what}的单元格 {a1(*pos)} 被合并单元格 {rng} 覆盖，请取消合并后填写"
        )
        self.problem(grid, pos, STR_CODE, Severity.WARNING, message, field, text)

    def _scan_xml(self, sheets: set[str | None]) -> None:
        try:
            with zipfile.ZipFile(self.path) as zf:
                for name in (g.name for g in self.grids if g.name in sheets):
                    part = self.parts.get(name, ("", 0))[0]
                    if not part:
                        continue
                    for cell, kind, value in scan_sheet_xml(zf.read(part)):
                        if kind == "error":
                            message = f"单元格 {cell} 是错误值 {value}，请修正公式或重新填写"
                            self.problems.append(_Problem(STR_CODE, Severity.ERROR, message, name, cell, value=value))
                        else:
                            message = NO_CACHE_MESSAGE.format(cell=cell)
                            self.problems.append(_Problem(STR_CODE, Severity.WARNING, message, name, cell))
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise SourceError(self.file, f"工作簿已损坏（{exc}）") from None

    def _findings(self, dept: Department) -> list[Finding]:
        owners: dict[tuple[str | None, str | None], tuple[Project, str]] = {}
        for p in dept.projects:
            for name, loc in p.sources.items():
                owners.setdefault((loc.sheet, loc.cell), (p, name))
            for ind in p.indicators:
                for name, loc in ind.sources.items():
                    owners.setdefault((loc.sheet, loc.cell), (p, name))
        by_sheet = {p.sheet: p for p in dept.projects}
        findings = []
        for pr in self.problems:
            owner, owned_field = owners.get((pr.sheet, pr.cell), (by_sheet.get(pr.sheet), ""))
            findings.append(
                Finding(
                    code=pr.code,
                    severity=pr.severity,
                    message=pr.message,
                    unit_code=owner.unit_code if owner else dept.unit_code,
                    project_code=owner.code if owner else "",
                    project_name=owner.name if owner else "",
                    field=pr.field or owned_field,
                    value=pr.value,
                    file=self.file,
                    sheet=pr.sheet,
                    cell=pr.cell,
                )
            )
        return findings

    # --- 部门 ----------------------------------------------------------------------------------

    @staticmethod
    def _is_department(grid: _Grid) -> bool:
        return all(_key(DEPT_LABELS[k]) in grid.labels for k in ("unit_code", "unit_name"))

    def _department(self, grid: _Grid, dept: Department) -> None:
        for key in ("unit_code", "unit_name", "title_unit_name", "overall_goal", "safeguards"):
            found = grid.find((DEPT_LABELS[key],))
            if found is None:
                continue
            pos = grid.beside(found[0])
            self.check_cover(grid, pos, DEPT_LABELS[key], key)
            setattr(dept, key, grid.text(pos))
            dept.sources[key] = grid.loc(self.file, pos)
        found = grid.find((DEPT_LABELS["year"],))
        if found is not None:
            pos = grid.beside(found[0])
            dept.sources["year"] = grid.loc(self.file, pos)
            dept.year = self._year(grid, pos)
        self._sub_goals(grid, dept)

    def _year(self, grid: _Grid, pos: Pos) -> int | None:
        value = grid.get(pos)
        if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
            return int(value)
        text = halfwidth(grid.text(pos))
        m = _YEAR_RE.match(text)
        if m:
            return int(m["y"])
        if text:
            message = f"预算年度「{text}」无法识别，应填写四位年份，如 2025"
            self.problem(grid, pos, STR_CODE, Severity.WARNING, message, "year", text)
        return None

    def _sub_goals(self, grid: _Grid, dept: Department) -> None:
        header = _header_row(grid, SUB_GOAL_HEADER, required=SUB_GOAL_HEADER[1:2])
        if header is None:
            return
        head_row, columns = header
        dept.sources["sub_goals"] = grid.loc(self.file, (head_row, min(columns.values())))
        stops = {_key(v) for k, v in DEPT_LABELS.items() if k != "sub_goals"}
        cols = dict(zip(_SUB_GOAL_FIELDS, SUB_GOAL_HEADER[1:], strict=True))
        for r in range(head_row + 1, len(grid.rows)):
            if any(_key(grid.text((r, c))) in stops for c in range(len(grid.rows[r]))):
                break
            sub = SubGoal()
            for name, label in cols.items():
                if label in columns:
                    pos = (r, columns[label])
                    setattr(sub, name, grid.text(pos))
                    sub.sources[name] = grid.loc(self.file, pos)
            if any(getattr(sub, name) for name in _SUB_GOAL_FIELDS):
                dept.sub_goals.append(sub)


def _header_row(grid: _Grid, header: tuple[str, ...], required: tuple[str, ...]) -> tuple[int, dict[str, int]] | None:
    """Return the first row holding every ``required`` header label, and the column of each label found."""
    keys = {_key(label): label for label in header}
    for r, row in enumerate(grid.rows):
        columns: dict[str, int] = {}
        for c, value in enumerate(row):
            if isinstance(value, str) and (label := keys.get(_key(value))) is not None:
                columns.setdefault(label, c)
        if all(label in columns for label in required):
            return r, columns
    return None


def _indicator_header(grid: _Grid) -> tuple[int, dict[str, int]] | None:
    return _header_row(grid, INDICATOR_HEADER, required=(INDICATOR_HEADER[0], INDICATOR_HEADER[2], INDICATOR_HEADER[4]))


class _ProjectReader:
    """Parses one project sheet: the form's labelled fields, then the indicator table."""

    def __init__(self, reader: _Reader, grid: _Grid, code: tuple[Pos, str], table: tuple[int, dict[str, int]]) -> None:
        self.reader = reader
        self.grid = grid
        self.code = code
        self.table_row, self.columns = table
        self.p = Project(sheet=grid.name)

    def read(self) -> tuple[Project, int | None]:
        p = self.p
        p.code = self._field(self.code, LABEL_CODE, "code", "项目编码")
        p.name = self._field(self._find(LABEL_NAME), LABEL_NAME, "name", "项目名称")
        ordinal = self._head()
        self._money()
        self._use()
        self._plan()
        p.goal = self._field(self._find(LABEL_GOAL), LABEL_GOAL, "goal", "绩效目标")
        self._indicators()
        return p, ordinal

    def _find(self, *labels: str) -> tuple[Pos, str] | None:
        return self.grid.find(labels, above=self.table_row)

    def _loc(self, pos: Pos) -> Location:
        return self.grid.loc(self.reader.file, pos)

    def _value_cell(self, found: tuple[Pos, str], standard: str, field: str, what: str) -> Pos | None:
        """Return the value cell of a found label (None when another label sits there), noting variants."""
        label_pos, text = found
        if _key(text) != _key(standard):
            self.p.label_variants.append(text)
        pos = self.grid.beside(label_pos)
        self.p.sources[field] = self._loc(pos)
        if _key(self.grid.text(pos)) in _FORM_LABEL_KEYS:
            # The label's merge swallowed its value cell; never read the next label as the value.
            message = f"「{text}」右侧没有可填写{what}的单元格（被合并单元格占用），请取消合并后填写"
            self.reader.problem(self.grid, label_pos, STR_CODE, Severity.WARNING, message, field)
            return None
        self.reader.check_cover(self.grid, pos, what, field)
        return pos

    def _field(self, found: tuple[Pos, str] | None, standard: str, field: str, what: str) -> str:
        pos = None if found is None else self._value_cell(found, standard, field, what)
        return "" if pos is None else self.grid.text(pos)

    def _head(self) -> int | None:
        """Read the unit line and the title above the code row; return the title's number."""
        ordinal = None
        for r in range(self.code[0][0]):
            for c in range(len(self.grid.rows[r])):
                text = halfwidth(self.grid.text((r, c)))
                unit = _UNIT_RE.match(text)
                if _key(text) == LABEL_UNIT:
                    unit = _UNIT_RE.match(LABEL_UNIT + self.grid.text(self.grid.beside((r, c))))
                if unit and not self.p.unit_code:
                    self.p.unit_code, self.p.unit_name = unit["code"], squash(unit["name"])
                    self.p.sources["unit_code"] = self.p.sources["unit_name"] = self._loc((r, c))
                title = _ORDINAL_RE.match(text)
                if title and text.endswith("绩效目标表") and ordinal is None:
                    ordinal = int(title["n"])
        return ordinal

    def _money(self) -> None:
        for name, standard, variants, what in (
            ("budget", LABEL_BUDGET, (), "预算数"),
            ("fiscal_funds", LABEL_FISCAL, LABEL_FISCAL_VARIANTS, "财政资金"),
            ("other_funds", LABEL_OTHER, (), "其他资金"),
        ):
            found = self._find(standard, *variants)
            if found is None:
                continue
            pos = self._value_cell(found, standard, name, what)
            if pos is None:
                continue
            value = self.grid.get(pos)
            text = squash(cell_text(value))
            amount = parse_amount(value) if isinstance(value, int | float | str) else None
            if amount is None and text:
                message = f"{what}「{text}」不是有效金额，请填写数字（单位：万元）"
                self.reader.problem(self.grid, pos, MONEY_CODE, Severity.ERROR, message, name, text)
            elif isinstance(value, str) and text:
                # Keep the typed text ("40万元") next to the amount read from it.
                self.p.raw[name] = text
            setattr(self.p, name, amount)

    def _use(self) -> None:
        found = self._find(LABEL_USE)
        if found is not None:
            self.p.use_of_funds = self._field(found, LABEL_USE, "use_of_funds", "资金用途")
            return
        block, budget = self._find(LABEL_MONEY_BLOCK), self._find(LABEL_BUDGET)
        if block is None or budget is None:
            return
        # The official form has no 资金用途 label: the text fills the row under 预算数, right of
        # the 预算规模及资金用途 block label.
        row, first = budget[0][0] + 1, block[0][1] + 1
        cells = [(row, c) for c in range(first, len(self.grid.rows[row]) if row < len(self.grid.rows) else first)]
        pos = next((cell for cell in cells if self.grid.text(cell)), (row, first))
        self.p.sources["use_of_funds"] = self._loc(pos)
        self.reader.check_cover(self.grid, pos, "资金用途", "use_of_funds")
        self.p.use_of_funds = self.grid.text(pos)

    def _plan(self) -> None:
        found = self._find(LABEL_PLAN, *LABEL_PLAN_VARIANTS)
        if found is None:
            return
        label_pos, text = found
        if _key(text) != _key(LABEL_PLAN):
            self.p.label_variants.append(text)
        heads = [
            self.grid.find((label,), below=label_pos[0], above=min(label_pos[0] + 3, self.table_row))
            for label in PLAN_LABELS
        ]
        cells = [(head[0][0] + 1, head[0][1]) if head else None for head in heads]
        numbers = [v for pos in cells if pos for v in [self.grid.get(pos)] if _is_number(v)]
        # Fractions (0.3 under a 0% format) and percent numbers (30) both occur; a row whose
        # numbers are all ≤ 1 holds fractions.
        scale = Decimal(100) if numbers and all(float(v) <= 1 for v in numbers) else Decimal(1)
        plan: list[Decimal | None] = [None, None, None, None]
        for i, pos in enumerate(cells):
            if pos is None:
                continue
            self.p.sources.setdefault("spending_plan", self._loc(pos))
            self.p.sources[f"spending_plan[{i}]"] = self._loc(pos)
            self.reader.check_cover(self.grid, pos, f"资金支出计划（{PLAN_LABELS[i]}）", "spending_plan")
            value = self.grid.get(pos)
            if _is_number(value):
                plan[i] = _plain(Decimal(repr(float(value))) * scale)
            elif text := self.grid.text(pos):
                plan[i] = parse_percent(text)
                if plan[i] is None:
                    self.reader.problem(
                        self.grid, pos, PLAN_CODE, Severity.ERROR,
                        f"资金支出计划（{PLAN_LABELS[i]}）「{text}」不是百分比，请填写如 30%", "spending_plan", text,
                    )  # fmt: skip
                else:
                    self.p.raw.setdefault("spending_plan", text)
        self.p.spending_plan = plan

    def _indicators(self) -> None:
        grid, head = self.grid, self.table_row
        self.p.sources["indicators"] = self._loc((head, self.columns[INDICATOR_HEADER[0]]))
        columns = {
            name: self.columns[label]
            for name, label in zip(_INDICATOR_FIELDS, INDICATOR_HEADER, strict=True)
            if label in self.columns
        }
        previous: Indicator | None = None
        for r in range(head + 1, len(grid.rows)):
            ind = Indicator()
            for name, col in columns.items():
                pos = (r, col)
                raw = cell_text(grid.get(pos))
                merge = grid.covering(pos)
                if merge is not None and name not in ("level1", "level2"):
                    self.reader.check_cover(grid, pos, INDICATOR_HEADER[_INDICATOR_FIELDS.index(name)], name)
                    if not raw.strip() and merge[1] == col:
                        # A vertical merge reads, to a person, as the value above repeated.
                        pos = (merge[0], merge[1])
                        raw = cell_text(grid.get(pos))
                setattr(ind, name, squash(raw))
                if name == "value":
                    ind.value_raw = raw.strip()
                ind.sources[name] = self._loc(pos)
            if not any(getattr(ind, name) for name in _INDICATOR_FIELDS):
                continue
            if previous is not None:
                self._inherit(ind, previous)
            self.p.indicators.append(ind)
            previous = ind

    @staticmethod
    def _inherit(ind: Indicator, previous: Indicator) -> None:
        """Fill blank 一级/二级 from the row above, as the merged official form reads."""
        level1_blank = not ind.level1
        if level1_blank:
            ind.level1 = previous.level1
            ind.sources["level1"] = previous.sources.get("level1", ind.sources["level1"])
        if not ind.level2 and (level1_blank or ind.level1 == previous.level1):
            ind.level2 = previous.level2
            ind.sources["level2"] = previous.sources.get("level2", ind.sources["level2"])


def _is_number(value: Cell) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


__all__ = ["a1", "cell_text", "read_workbook", "scan_sheet_xml"]
