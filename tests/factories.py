"""Builders for small in-memory departments used by the rule tables.

``clean_project()`` is a fully consistent project: every rule must stay silent on it
(no error, no warning). Each rule test changes one thing and expects its code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perfxl.model import Department, Indicator, Location, Project

CLEAN_CODE = "13080025P00012310001X"
OTHER_CODE = "13080025P00012410001K"

CLEAN_ROWS: list[tuple[str, str, str, str, str, str]] = [
    ("产出指标", "数量指标", "培训人数", "年度内参加培训的企业管理人员人数", "≥450人", "年度工作计划"),
    ("产出指标", "数量指标", "举办培训场次", "全年举办专题培训的场次", "≥3场", "年度工作计划"),
    ("产出指标", "质量指标", "培训合格率", "考核合格人数/参训人数*100%", "≥95%", "培训方案"),
    ("产出指标", "时效指标", "培训完成时间", "全部培训完成的时间", "2025年12月底前完成", "培训方案"),
    ("产出指标", "成本指标", "人均培训成本", "培训费用/参训人数", "≤400元/人", "会议费标准"),
    ("效益指标", "社会效益指标", "企业数字化水平提升率", "参训企业数字化评估得分提高的比例", "≥10%", "行业标准"),
    ("满意度指标", "服务对象满意度指标", "参训企业满意度", "满意和较满意企业数/调查企业数*100%", "≥90%", "问卷调查"),
]


def indicator(
    level1: str, level2: str, level3: str, description: str, value: str, basis: str, row: int = 10
) -> Indicator:
    """Return an indicator with a location for every field, as a workbook reader would give."""
    cols = dict(zip(("level1", "level2", "level3", "description", "value", "basis"), "ABCDEF", strict=True))
    return Indicator(
        level1=level1,
        level2=level2,
        level3=level3,
        description=description,
        value=value,
        value_raw=value,
        basis=basis,
        sources={f: Location(file="t.xlsx", sheet="项目1", cell=f"{c}{row}") for f, c in cols.items()},
    )


def rows(*items: tuple[str, str, str, str, str, str]) -> list[Indicator]:
    """Return indicators for the given (一级, 二级, 三级, 描述, 指标值, 依据) rows."""
    return [indicator(*item, row=10 + n) for n, item in enumerate(items)]


def clean_project(**changes: Any) -> Project:
    """Return a fully consistent 2025 project (20 万元 training programme) with ``changes``."""
    fields: dict[str, Any] = {
        "code": CLEAN_CODE,
        "name": "中小企业数字化转型培训",
        "unit_code": "593001",
        "unit_name": "承德市工业和信息化局本级",
        "budget": Decimal("20.00"),
        "fiscal_funds": Decimal("20.00"),
        "other_funds": None,
        "use_of_funds": "资金用于举办中小企业数字化转型培训，支付场地、师资和资料费用。",
        "spending_plan": [Decimal(10), Decimal(40), Decimal(80), Decimal(100)],
        "goal": "1. 2025年12月底前支出20万元用于举办3场中小企业数字化转型培训，培训450人以上，以提升企业数字化水平。",
        "indicators": rows(*CLEAN_ROWS),
        "sheet": "项目1",
        "sources": {
            f: Location(file="t.xlsx", sheet="项目1", cell=c)
            for f, c in {
                "code": "B3",
                "name": "D3",
                "budget": "C4",
                "fiscal_funds": "E4",
                "other_funds": "G4",
                "use_of_funds": "B5",
                "spending_plan": "B7",
                "goal": "B8",
            }.items()
        },
    }
    fields.update(changes)
    return Project(**fields)


def department(*projects: Project, **changes: Any) -> Department:
    """Return a 2025 department holding ``projects`` (a clean project when none are given)."""
    fields: dict[str, Any] = {
        "unit_code": "593001",
        "unit_name": "承德市工业和信息化局本级",
        "year": 2025,
        "title_unit_name": "承德市工业和信息化局",
        "projects": list(projects) or [clean_project()],
        "source_file": "t.xlsx",
    }
    fields.update(changes)
    return Department(**fields)
