"""The label parser: sheets as grids of cell values → the department model.

A grid is one sheet's values by (row, column) with its merged ranges, however it was read:
from a file with python-calamine (``perfxl.readers.workbook``) or from a running Excel
through xlwings (``perfxl.excel.grid``). The parser finds every field by its label, the way a
person reads the form: the 部门 sheet by its 单位编码/单位名称 labels, a project sheet by a
项目编码 label (or a variant) above the indicator table header. Sheets are never recognised
by name or position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import product
from typing import Literal, TypeGuard

from perfxl.errors import SourceError
from perfxl.layout import (
    CONF_SHEET,
    DEPT_LABELS,
    DEPT_SHEET,
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
from perfxl.model import Department, Finding, Indicator, Location, Project, ReadResult, Severity, SubGoal, plan_source
from perfxl.textnorm import halfwidth, label_key, squash
from perfxl.values import parse_amount, parse_percent

Cell = str | float | int | bool | datetime | date | time | timedelta
Pos = tuple[int, int]

# Sheets perfxl itself writes or hides; no source reads them as forms.
SKIP_SHEETS = frozenset({ISSUES_SHEET, SUMMARY_SHEET, LISTS_SHEET, CONF_SHEET})
MAX_LABEL_CHARS = 40
# Merged ranges up to this many cells are indexed cell by cell; bigger ones are searched.
MAX_INDEXED_MERGE = 4096

STR_CODE = "PT-STR-001"
# A workbook whose 部门 sheet was deleted or renamed past recognition loses Part 1 silently otherwise.
NO_DEPARTMENT_MESSAGE = (
    f"工作簿中没有「{DEPT_SHEET}」表（单位编码、单位名称、预算年度、部门整体绩效目标）：预算年度和部门整体绩效目标"
    f"未读到，单位编码和名称取自第一张项目表；请从模板中复制「{DEPT_SHEET}」表补齐"
)
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


@lru_cache(maxsize=8192)
def _key(text: str) -> str:
    """Return the comparison key of a label cell; a trailing colon (项目编码：) is ignored."""
    return label_key(text).rstrip(":")


# The header labels that make a row the indicator table's header (``_indicator_header``).
_TABLE_REQUIRED = (INDICATOR_HEADER[0], INDICATOR_HEADER[2], INDICATOR_HEADER[4])
_TABLE_KEYS = frozenset(_key(label) for label in _TABLE_REQUIRED)

_FORM_LABEL_KEYS = frozenset(
    _key(label)
    for label in (
        LABEL_CODE, *LABEL_CODE_VARIANTS, LABEL_NAME, LABEL_MONEY_BLOCK, LABEL_BUDGET, LABEL_FISCAL,
        *LABEL_FISCAL_VARIANTS, LABEL_OTHER, LABEL_USE, LABEL_PLAN, *LABEL_PLAN_VARIANTS, LABEL_GOAL,
    )
)  # fmt: skip


@lru_cache(maxsize=1 << 16)
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
        return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value
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
class Grid:
    """One sheet's values by 0-based (row, column), with its merged ranges and label index.

    The label index holds the rows down to the indicator table's header, the first row with
    一级指标, 三级指标 and 指标值; the table's own rows are read by column, never by label.
    """

    name: str
    rows: list[list[Cell]]
    merges: list[tuple[int, int, int, int]]
    labels: dict[str, list[Pos]] = field(default_factory=dict)
    spans: dict[Pos, int] = field(default_factory=dict)
    locations: dict[Pos, Location] = field(default_factory=dict)
    hidden: dict[Pos, tuple[int, int, int, int]] = field(default_factory=dict)
    huge: list[tuple[int, int, int, int]] = field(default_factory=list)
    sheet_hidden: bool = False
    """Whether the sheet is hidden (or very hidden) in the workbook."""

    def __post_init__(self) -> None:
        # Runs once per sheet over every merge and every cell: the per-cell work stays in C
        # (itertools.product, comprehensions) as far as it can.
        hidden = self.hidden
        for merge in self.merges:
            r0, c0, r1, c1 = merge
            self.spans[(r0, c0)] = c1
            if (r1 - r0 + 1) * (c1 - c0 + 1) > MAX_INDEXED_MERGE:
                self.huge.append(merge)
                continue
            cells = dict.fromkeys(product(range(r0, r1 + 1), range(c0, c1 + 1)), merge)
            del cells[(r0, c0)]
            hidden.update(cells)
        labels = self.labels
        key = _key
        for r, row in enumerate(self.rows):
            header: set[str] = set()
            for c, value in [
                (c, v) for c, v in enumerate(row) if v.__class__ is str and v and len(v) <= MAX_LABEL_CHARS
            ]:
                k = key(value)
                if k:
                    found = labels.get(k)
                    if found is None:
                        labels[k] = [(r, c)]
                    else:
                        found.append((r, c))
                    if k in _TABLE_KEYS:
                        header.add(k)
            if len(header) == len(_TABLE_KEYS):
                # The indicator table's header: every label is looked up above it or in it,
                # and the table's rows are half the cells of a form.
                break

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
            found = self.locations[pos] = Location(file, self.name, a1(pos[0], pos[1]))
        return found


@dataclass
class Problem:
    """A problem met while reading or parsing a sheet, before the project it belongs to is known."""

    code: str
    severity: Severity
    message: str
    sheet: str
    cell: str
    field: str = ""
    value: str = ""


@dataclass(frozen=True)
class CellIssue:
    """What a grid's values cannot show: an error value (``error``) or a formula saved without a value (``nocache``)."""

    sheet: str
    cell: str
    kind: Literal["error", "nocache"]
    value: str = ""


# Given the names of the sheets the parser read, return their cell issues; sources compute them lazily.
IssueScan = Callable[[set[str]], Iterable[CellIssue]]


def parse_grids(
    file: str, grids: Sequence[Grid], *, problems: Sequence[Problem] = (), scan: IssueScan | None = None
) -> ReadResult:
    """Return the department parsed from ``grids`` (sheets in tab order), or raise SourceError.

    ``problems`` are what the source already found (such as a sheet too big to read); the
    cell issues of ``scan`` become findings only for cells the parser read a value from, so
    an error in a column perfxl ignores (the template's 检查 column where Python is absent,
    say) is no finding.
    """
    return _Reader(file, list(grids), list(problems), scan).read()


class _Reader:
    """Parses the grids of one workbook into a department."""

    def __init__(self, file: str, grids: list[Grid], problems: list[Problem], scan: IssueScan | None) -> None:
        self.file = file
        self.grids = grids
        self.problems = problems
        self.scan = scan

    def read(self) -> ReadResult:
        dept = Department(source_file=self.file)
        dept_grid = next((g for g in self.grids if self._is_department(g)), None)
        if dept_grid is not None:
            self._department(dept_grid, dept)
        else:
            self.problems.append(Problem(STR_CODE, Severity.ERROR, NO_DEPARTMENT_MESSAGE, DEPT_SHEET, "", "year"))
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
        if self.scan is not None:
            self._cell_issues(dept, dept_grid)
        return ReadResult(department=dept, findings=self._findings(dept))

    # --- problems ------------------------------------------------------------------------------

    def problem(
        self, grid: Grid, pos: Pos, code: str, severity: Severity, message: str, field: str = "", value: str = ""
    ) -> None:
        self.problems.append(Problem(code, severity, message, grid.name, a1(*pos), field, value))

    def check_cover(self, grid: Grid, pos: Pos, what: str, field: str) -> None:
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

    def _cell_issues(self, dept: Department, dept_grid: Grid | None) -> None:
        """Report the source's cell issues in the cells a value was read from."""
        assert self.scan is not None
        parsed = {p.sheet for p in dept.projects if p.sheet} | ({dept_grid.name} if dept_grid else set())
        read: set[tuple[str | None, str | None]] | None = None
        for issue in self.scan(parsed):
            if read is None:
                # Built only when there is an issue to place: most workbooks have none.
                sources = [dept.sources, *(g.sources for g in dept.sub_goals)]
                for p in dept.projects:
                    sources += [p.sources, *(ind.sources for ind in p.indicators)]
                read = {(loc.sheet, loc.cell) for found in sources for loc in found.values()}
            if (issue.sheet, issue.cell) not in read:
                continue
            if issue.kind == "error":
                message = f"单元格 {issue.cell} 是错误值 {issue.value}，请修正公式或重新填写"
                problem = Problem(STR_CODE, Severity.ERROR, message, issue.sheet, issue.cell, value=issue.value)
                self.problems.append(problem)
            else:
                message = NO_CACHE_MESSAGE.format(cell=issue.cell)
                self.problems.append(Problem(STR_CODE, Severity.WARNING, message, issue.sheet, issue.cell))

    def _findings(self, dept: Department) -> list[Finding]:
        if not self.problems:
            return []
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
    def _is_department(grid: Grid) -> bool:
        return all(_key(DEPT_LABELS[k]) in grid.labels for k in ("unit_code", "unit_name"))

    def _department(self, grid: Grid, dept: Department) -> None:
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

    def _year(self, grid: Grid, pos: Pos) -> int | None:
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

    def _sub_goals(self, grid: Grid, dept: Department) -> None:
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


def _header_row(grid: Grid, header: tuple[str, ...], required: tuple[str, ...]) -> tuple[int, dict[str, int]] | None:
    """Return the first row holding every ``required`` header label, and the column of each label found."""
    keys = {_key(label): label for label in header}
    # From the label index (cells in reading order), not a scan of the sheet.
    rows: dict[int, dict[str, int]] = {}
    for key, label in keys.items():
        for r, c in grid.labels.get(key, ()):
            rows.setdefault(r, {}).setdefault(label, c)
    for r in sorted(rows):
        if all(label in rows[r] for label in required):
            return r, rows[r]
    return None


def _indicator_header(grid: Grid) -> tuple[int, dict[str, int]] | None:
    return _header_row(grid, INDICATOR_HEADER, required=_TABLE_REQUIRED)


class _ProjectReader:
    """Parses one project sheet: the form's labelled fields, then the indicator table."""

    def __init__(self, reader: _Reader, grid: Grid, code: tuple[Pos, str], table: tuple[int, dict[str, int]]) -> None:
        self.reader = reader
        self.grid = grid
        self.code = code
        self.table_row, self.columns = table
        self.p = Project(sheet=grid.name, hidden=grid.sheet_hidden)

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
                if not text:
                    continue
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
        scale = plan_scale(self.grid.get(pos) for pos in cells if pos)
        plan: list[Decimal | None] = [None, None, None, None]
        for i, pos in enumerate(cells):
            if pos is None:
                continue
            self.p.sources.setdefault("spending_plan", self._loc(pos))
            self.p.sources[plan_source(i)] = self._loc(pos)
            self.reader.check_cover(self.grid, pos, f"资金支出计划（{PLAN_LABELS[i]}）", "spending_plan")
            plan[i] = plan_percent(self.grid.get(pos), scale)
            if not is_number(self.grid.get(pos)) and (text := self.grid.text(pos)):
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
        columns = [
            (name, self.columns[label], label)
            for name, label in zip(_INDICATOR_FIELDS, INDICATOR_HEADER, strict=True)
            if label in self.columns
        ]
        # The loop runs for every cell of every indicator table, so lookups are bound once.
        covering, loc, file = grid.covering, grid.loc, self.reader.file
        previous: Indicator | None = None
        for r in range(head + 1, len(grid.rows)):
            row = grid.rows[r]
            width = len(row)
            # Values and cells first, the model only for a row that holds something: most
            # sheets have blank or footer rows below the table.
            values: dict[str, str] = {}
            cells: dict[str, Pos] = {}
            value_raw = ""
            for name, col, label in columns:
                pos = (r, col)
                raw = cell_text(row[col]) if col < width else ""
                merge = covering(pos)
                if merge is not None and name not in ("level1", "level2"):
                    self.reader.check_cover(grid, pos, label, name)
                    if not raw.strip() and merge[1] == col:
                        # A vertical merge reads, to a person, as the value above repeated.
                        pos = (merge[0], merge[1])
                        raw = cell_text(grid.get(pos))
                values[name] = squash(raw) if raw else ""
                cells[name] = pos
                if name == "value":
                    value_raw = raw.strip()
            if not any(values.values()):
                continue
            sources = {name: loc(file, pos) for name, pos in cells.items()}
            ind = Indicator(**values, value_raw=value_raw, sources=sources)
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


def plan_scale(values: Iterable[Cell]) -> Decimal:
    """Return 100 when the plan's numbers are fractions (as typed under a 0% format), else 1.

    They are fractions when all are below 2: a plan in percent reaches far beyond 2% by 12月底,
    so 0.2/0.5/1.2/1 is 20%…120% (the 120% an error the plan rules name), never 0.2%…1.2%.
    """
    numbers = [float(v) for v in values if is_number(v)]
    return Decimal(100) if numbers and all(v < 2 for v in numbers) else Decimal(1)


def plan_percent(value: Cell, scale: Decimal) -> Decimal | None:
    """Return a plan cell in percent (a number times ``scale``, or text like 30%); None if blank or unreadable."""
    if is_number(value):
        return _plain(Decimal(repr(float(value))) * scale)
    text = squash(cell_text(value))
    return parse_percent(text) if text else None


def is_number(value: object) -> TypeGuard[int | float]:
    """Return True for a numeric cell value (bools are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


__all__ = [
    "SKIP_SHEETS",
    "Cell",
    "CellIssue",
    "Grid",
    "IssueScan",
    "Pos",
    "Problem",
    "a1",
    "cell_text",
    "is_number",
    "parse_grids",
    "plan_percent",
    "plan_scale",
]
