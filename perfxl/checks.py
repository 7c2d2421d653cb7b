"""Checks of a single indicator row, project code or spending plan, for the worksheet functions.

Each check runs the rule catalogue (``perfxl.rules.validate``) on a one-project department
holding just the given values, and keeps the findings of the rules that judge those values on
their own and point at them. So a worksheet function says what ``perfxl validate`` says about
the same cells, minus what needs the rest of the form (a missing 二级 block, say).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from perfxl.config import Config
from perfxl.model import PLAN_CHECKPOINTS, Department, Finding, Indicator, Location, Project, ReadResult, plan_source
from perfxl.rules import validate

# The made-up place of the checked values: findings that point here are about them.
_SHEET = "检查"
_INDICATOR_FIELDS: tuple[str, ...] = ("level1", "level2", "level3", "description", "value")
# The rules that judge one indicator row by itself; the others need the whole table.
ROW_RULES = frozenset(
    {f"PT-VAL-{n:03d}" for n in range(1, 12)}
    | {"PT-STR-007", "PT-STR-009", "PT-SAT-001", "PT-SAT-002", "PT-SAT-003", "PT-TIME-001", "PT-CLS-001"}
)


def _at(cell: str) -> Location:
    return Location(sheet=_SHEET, cell=cell)


def _findings_at(
    dept: Department, cells: set[str], codes: Callable[[str], bool], config: Config | None
) -> list[Finding]:
    findings = validate(ReadResult(department=dept), config)
    return [f for f in findings if f.sheet == _SHEET and f.cell in cells and codes(f.code)]


def indicator_findings(
    level1: str, level2: str, level3: str, description: str, value: str, config: Config | None = None
) -> list[Finding]:
    """Return the findings about one indicator row (一级, 二级, 三级, 描述, 指标值), most severe first."""
    cells = {name: f"{chr(65 + i)}1" for i, name in enumerate(_INDICATOR_FIELDS)}
    indicator = Indicator(
        level1=level1,
        level2=level2,
        level3=level3,
        description=description,
        value=value,
        value_raw=value,
        sources={name: _at(cell) for name, cell in cells.items()},
    )
    project = Project(indicators=[indicator], sheet=_SHEET)
    findings = _findings_at(Department(projects=[project]), set(cells.values()), ROW_RULES.__contains__, config)
    # 指标值确定依据 is not among the checked cells, so a missing one is not this check's business.
    return [f for f in findings if f.field in _INDICATOR_FIELDS]


def code_findings(code: str, year: int | None = None, config: Config | None = None) -> list[Finding]:
    """Return the findings about a non-blank 项目编码 (and its year against the budget year ``year``)."""
    project = Project(code=code, sheet=_SHEET, sources={"code": _at("A1")})
    is_code_rule = _prefixed("PT-CODE-")
    return _findings_at(Department(year=year, projects=[project]), {"A1"}, is_code_rule, config) if code.strip() else []


def plan_findings(plan: Sequence[Decimal | None], config: Config | None = None) -> list[Finding]:
    """Return the findings about a spending plan: cumulative percent at 3月底, 6月底, 10月底, 12月底."""
    cells = [f"{chr(65 + i)}1" for i in range(len(PLAN_CHECKPOINTS))]
    sources = {plan_source(i): _at(cell) for i, cell in enumerate(cells)}
    project = Project(spending_plan=list(plan), sheet=_SHEET, sources={"spending_plan": _at(cells[0]), **sources})
    return _findings_at(Department(projects=[project]), set(cells), _prefixed("PT-PLAN-"), config)


def _prefixed(prefix: str) -> Callable[[str], bool]:
    return lambda code: code.startswith(prefix)
