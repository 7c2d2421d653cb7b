"""Domain model: a department's performance targets, its projects and their indicators.

Every field that was read from a source remembers where it came from (``sources``), so a
finding can point at the exact sheet and cell, or line, that a person has to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
Percent = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]

PLAN_CHECKPOINTS: tuple[str, str, str, str] = ("3月底", "6月底", "10月底", "12月底")
PLAN_SOURCE_PREFIX = "spending_plan["


def plan_source(checkpoint: int) -> str:
    """Return the key in ``Project.sources`` of the cell holding plan checkpoint ``checkpoint`` (0 = 3月底)."""
    return f"{PLAN_SOURCE_PREFIX}{checkpoint}]"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value was read: a file plus a sheet and A1 cell, a line number, or a place in a Word or PDF document."""

    # A plain frozen dataclass, not a pydantic model: the readers make one per cell read
    # (~1,000 per department workbook) and pydantic's validating constructor was a sixth of
    # the parse. Models holding Locations still validate and dump them as before.
    file: str = ""
    sheet: str | None = None
    cell: str | None = None
    line: int | None = None
    place: str | None = None
    """Where in a document that has neither cells nor lines, in Chinese (``第 3 个表格第 5 行``)."""

    def describe(self) -> str:
        """Return a short Chinese description such as ``a.xlsx 工作表 项目1 单元格 C5``."""
        parts = [self.file] if self.file else []
        if self.sheet:
            parts.append(f"工作表「{self.sheet}」")
        if self.cell:
            parts.append(f"单元格 {self.cell}")
        if self.line is not None:
            parts.append(f"第 {self.line} 行")
        if self.place:
            parts.append(self.place)
        return " ".join(parts)


def _empty_plan() -> list[Decimal | None]:
    return [None, None, None, None]


class Indicator(BaseModel):
    """One row of the indicator table (一级/二级/三级指标, 描述, 指标值, 依据)."""

    level1: str = ""
    level2: str = ""
    level3: str = ""
    description: str = ""
    value: str = ""
    basis: str = ""
    value_raw: str = Field(default="", description="指标值 exactly as it stood in the source")
    sources: dict[str, Location] = Field(default_factory=dict)

    def where(self, field: str = "value") -> Location | None:
        """Return the location of ``field``, falling back to the row's first known location."""
        return self.sources.get(field) or next(iter(self.sources.values()), None)


class Project(BaseModel):
    """One budget project with its 绩效目标表."""

    code: str = ""
    name: str = ""
    unit_code: str = ""
    unit_name: str = ""
    budget: Money | None = None
    fiscal_funds: Money | None = None
    other_funds: Money | None = None
    use_of_funds: str = ""
    spending_plan: list[Percent | None] = Field(default_factory=lambda: _empty_plan())
    goal: str = ""
    indicators: list[Indicator] = Field(default_factory=list)
    sheet: str | None = None
    label_variants: list[str] = Field(
        default_factory=list, description="non-standard labels met while reading, e.g. 项目编号"
    )
    raw: dict[str, str] = Field(default_factory=dict, description="original text of fields whose value was interpreted")
    hidden: bool = Field(default=False, description="its sheet is hidden in the workbook (read and counted as any)")
    sources: dict[str, Location] = Field(default_factory=dict)

    def where(self, field: str) -> Location | None:
        """Return the location of ``field``, falling back to the project's code or name."""
        return self.sources.get(field) or self.sources.get("code") or self.sources.get("name")


class SubGoal(BaseModel):
    """One item of Part 1's 分项绩效目标."""

    title: str = ""
    use: str = ""
    goal: str = ""
    indicators: str = ""
    sources: dict[str, Location] = Field(default_factory=dict)


class Department(BaseModel):
    """A unit's performance targets: Part 1 (overall) and Part 2 (one table per project)."""

    unit_code: str = ""
    unit_name: str = ""
    year: int | None = None
    title_unit_name: str = Field(default="", description="unit name as Part 1 or the title gives it")
    overall_goal: str = ""
    sub_goals: list[SubGoal] = Field(default_factory=list)
    safeguards: str = ""
    projects: list[Project] = Field(default_factory=list)
    source_file: str = ""
    sources: dict[str, Location] = Field(default_factory=dict)


class Severity(StrEnum):
    """How bad a finding is; the values are the JSON spellings."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def label(self) -> str:
        """Return the Chinese label shown to users (错误/警告/提示)."""
        return _SEVERITY_LABELS[self.value]

    @property
    def rank(self) -> int:
        """Return 0 for errors, 1 for warnings, 2 for info, for sorting."""
        return _SEVERITY_RANKS[self.value]


# Module tables, not dicts built per call: validation sorts and labels every finding.
_SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
_SEVERITY_RANKS = {"error": 0, "warning": 1, "info": 2}


class Finding(BaseModel):
    """One problem found in the data: what, how bad, and exactly where."""

    code: str
    severity: Severity
    message: str
    unit_code: str = ""
    project_code: str = ""
    project_name: str = ""
    field: str = ""
    value: str = ""
    file: str = ""
    sheet: str | None = None
    cell: str | None = None
    line: int | None = None
    place: str | None = None

    def public(self) -> dict[str, Any]:
        """Return the finding in the JSON shape of ``perfxl validate --format json``."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "project_code": self.project_code,
            "project_name": self.project_name,
            "field": self.field,
            "value": self.value,
            "sheet": self.sheet,
            "cell": self.cell,
            "line": self.line,
            "place": self.place,
            "file": self.file,
        }


class ReadResult(BaseModel):
    """A parsed source: the department plus what the reader itself had to report."""

    department: Department
    findings: list[Finding] = Field(default_factory=list)


class PublicIndicator(BaseModel):
    """An indicator row as published by ``perfxl inspect --format json``."""

    level1: str
    level2: str
    level3: str
    description: str
    value: str
    basis: str


class PublicProject(BaseModel):
    """A project as published by ``perfxl inspect --format json``; amounts in 万元."""

    code: str
    name: str
    budget: float | None
    fiscal_funds: float | None
    other_funds: float = Field(description="blank on the form means 0")
    spending_plan: list[float | None] = Field(
        min_length=4, max_length=4, description="cumulative % at 3月底, 6月底, 10月底, 12月底"
    )
    goal: str
    use_of_funds: str
    indicators: list[PublicIndicator]


class PublicDepartment(BaseModel):
    """The public JSON contract of ``perfxl inspect --format json``."""

    unit_code: str
    unit_name: str
    year: int | None
    projects: list[PublicProject]


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def public_department(dept: Department) -> PublicDepartment:
    """Return the department projected onto the public inspect contract."""
    return PublicDepartment(
        unit_code=dept.unit_code,
        unit_name=dept.unit_name,
        year=dept.year,
        projects=[
            PublicProject(
                code=p.code,
                name=p.name,
                budget=_num(p.budget),
                fiscal_funds=_num(p.fiscal_funds),
                other_funds=float(p.other_funds or 0),
                spending_plan=[_num(v) for v in p.spending_plan],
                goal=p.goal,
                use_of_funds=p.use_of_funds,
                indicators=[
                    PublicIndicator(
                        level1=i.level1,
                        level2=i.level2,
                        level3=i.level3,
                        description=i.description,
                        value=i.value,
                        basis=i.basis,
                    )
                    for i in p.indicators
                ],
            )
            for p in dept.projects
        ],
    )
