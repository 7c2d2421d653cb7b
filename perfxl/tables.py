"""The consolidated workbook's vocabulary: its sheets, their columns and what each column holds.

This is a contract: other tools read the consolidated workbook (and its Parquet copy) by these
names. Every long table has its header in row 1 and one row per thing; each row carries the
file it came from, so a consolidated workbook is itself a valid input and levels stack
(county → city → province).
"""

from __future__ import annotations

from enum import StrEnum

from perfxl.model import PLAN_CHECKPOINTS

SUMMARY = "汇总"
UNITS = "单位"
PROJECTS = "项目"
INDICATORS = "指标"
ISSUES = "问题"
SOURCES = "来源"
SHEETS: tuple[str, ...] = (SUMMARY, UNITS, PROJECTS, INDICATORS, ISSUES, SOURCES)
# A workbook holding these sheets is read as a consolidated workbook, not as a department's.
CONSOLIDATED_MARKERS = frozenset({PROJECTS, INDICATORS, SOURCES})
# Excel's hard limit of rows per sheet, header included.
EXCEL_MAX_ROWS = 1_048_576

# 汇总's spending-plan columns: the budget-weighted cumulative share planned by each checkpoint.
PLAN_PROGRESS: tuple[str, ...] = tuple(f"{checkpoint}计划进度" for checkpoint in PLAN_CHECKPOINTS)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "区划", "单位编码", "单位名称", "单位数", "项目数", "预算数", "财政资金", "其他资金", "错误数", "警告数",
    *PLAN_PROGRESS,
)  # fmt: skip
UNIT_COLUMNS: tuple[str, ...] = (
    "单位编码", "单位名称", "区划", "预算年度", "项目数", "预算数", "财政资金", "其他资金", "来源文件",
)  # fmt: skip
PROJECT_COLUMNS: tuple[str, ...] = (
    "区划", "单位编码", "单位名称", "项目编码", "项目名称", "预算数", "财政资金", "其他资金", *PLAN_CHECKPOINTS,
    "绩效目标", "资金用途", "指标数", "错误数", "警告数", "来源文件", "工作表",
)  # fmt: skip
INDICATOR_COLUMNS: tuple[str, ...] = (
    "项目编码", "一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "运算符", "数值", "单位", "类型",
    "指标值确定依据", "来源文件", "工作表", "单元格",
)  # fmt: skip
ISSUE_COLUMNS: tuple[str, ...] = (
    "级别", "规则", "说明", "单位编码", "项目编码", "当前值", "来源文件", "工作表", "单元格",
)  # fmt: skip
SOURCE_COLUMNS: tuple[str, ...] = ("文件", "SHA256", "状态", "原因", "单位编码", "项目数", "预算数")

COLUMNS: dict[str, tuple[str, ...]] = {
    SUMMARY: SUMMARY_COLUMNS,
    UNITS: UNIT_COLUMNS,
    PROJECTS: PROJECT_COLUMNS,
    INDICATORS: INDICATOR_COLUMNS,
    ISSUES: ISSUE_COLUMNS,
    SOURCES: SOURCE_COLUMNS,
}


class Kind(StrEnum):
    """What a column holds, which decides how it is written, formatted and read back."""

    TEXT = "text"
    MONEY = "money"
    PERCENT = "percent"
    SHARE = "share"
    """A computed share (汇总's weighted plan), shown to one decimal."""
    INTEGER = "integer"
    NUMBER = "number"


_KINDS: dict[str, Kind] = {
    **dict.fromkeys(("预算数", "财政资金", "其他资金"), Kind.MONEY),
    **dict.fromkeys(PLAN_CHECKPOINTS, Kind.PERCENT),
    **dict.fromkeys(PLAN_PROGRESS, Kind.SHARE),
    **dict.fromkeys(("单位数", "项目数", "指标数", "错误数", "警告数", "预算年度"), Kind.INTEGER),
    "数值": Kind.NUMBER,
}


def kind(column: str) -> Kind:
    """Return what the column named ``column`` holds (text unless listed otherwise)."""
    return _KINDS.get(column, Kind.TEXT)


class Status(StrEnum):
    """The 状态 of an input file in 来源."""

    ACCEPTED = "已汇入"
    REJECTED = "已拒绝"
    DUPLICATE = "重复"


# The cross-file findings (a code or a name arriving from more than one file) are recomputed at
# every level, so a consolidated input's copies of them (recognised by rule and this opening)
# are dropped when it is read back.
CROSS_FILE_PREFIX = "跨文件重复："
CROSS_FILE_RULES = frozenset({"PT-CODE-005", "PT-XPR-001"})
# 原因 of a file a lower level rejected, carried up so every level above sees what is missing;
# a reason already carrying it names the level that rejected the file and is kept as it is.
BELOW_PREFIX = "下级合并"
BELOW_REJECTED = BELOW_PREFIX + "「{input}」时已拒绝：{reason}"
