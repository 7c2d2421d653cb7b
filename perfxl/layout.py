"""The department workbook's vocabulary: sheet names, form labels and where the writer puts them.

Readers never rely on positions: they find every field by its label (the way a person reads
the form), so these positions only bind the writer. Labels are matched with
``textnorm.label_key``, so stray spaces and full-width variants still match.
"""

from __future__ import annotations

from perfxl.model import PLAN_CHECKPOINTS

DEPT_SHEET = "部门"
SUMMARY_SHEET = "部门汇总"
ISSUES_SHEET = "校验结果"
LISTS_SHEET = "_lists"
CONF_SHEET = "xlwings.conf"
PROJECT_SHEET_PREFIX = "项目"

# Department sheet labels (column A), values in column B.
DEPT_LABELS: dict[str, str] = {
    "unit_code": "单位编码",
    "unit_name": "单位名称",
    "title_unit_name": "部门名称",
    "year": "预算年度",
    "overall_goal": "总体绩效目标",
    "sub_goals": "分项绩效目标",
    "safeguards": "工作保障措施",
    "total": "部门预算总额（万元）",
}
SUB_GOAL_HEADER: tuple[str, ...] = ("序号", "分项名称", "资金用途说明", "绩效目标", "绩效指标")

# Project form labels and label variants seen in real forms.
LABEL_CODE = "项目编码"
LABEL_CODE_VARIANTS: tuple[str, ...] = ("项目编号", "项目代码")
LABEL_NAME = "项目名称"
LABEL_UNIT = "单位"
LABEL_MONEY_BLOCK = "预算规模及资金用途"
LABEL_BUDGET = "预算数"
LABEL_FISCAL = "其中：财政资金"
LABEL_FISCAL_VARIANTS: tuple[str, ...] = ("财政资金", "其中:财政资金", "其中财政资金")
LABEL_OTHER = "其他资金"
LABEL_USE = "资金用途"
LABEL_PLAN = "资金支出计划（%）"
LABEL_PLAN_VARIANTS: tuple[str, ...] = ("资金支出计划(%)", "资金支出计划")
LABEL_GOAL = "绩效目标"
INDICATOR_HEADER: tuple[str, ...] = ("一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据")
CHECK_HEADER = "检查"
# Worksheet functions (udfs.py) of the macro-enabled template's optional 检查 column and status cell.
CHECK_FUNCTION = "PX_CHECK_VALUE"
STATUS_FUNCTION = "PX_PROJECT_STATUS"
PLAN_LABELS: tuple[str, ...] = PLAN_CHECKPOINTS

# Where the writer puts the project form (1-based rows, 0-based columns as XlsxWriter uses).
ROW_TITLE = 1
ROW_UNIT = 2
ROW_CODE = 3
ROW_MONEY = 4
ROW_USE = 5
ROW_PLAN_HEAD = 6
ROW_PLAN = 7
ROW_GOAL = 8
ROW_IND_HEAD = 9
ROW_IND_FIRST = 10
FORM_COLUMNS = 7
# Value columns, as in the official form: code B:C, name E:G, money C/E/G, the checkpoints under
# 3月底 (B:C), 6月底 (D), 10月底 (E), 12月底 (F:G); 指标值确定依据 spans F:G.
COL_CODE = 1
COL_NAME = 4
COL_BUDGET = 2
COL_FISCAL = 4
COL_OTHER = 6
# The template's 检查 column, right of the form (outside the print area); its status cell heads it.
COL_CHECK = FORM_COLUMNS
PLAN_COLUMNS: tuple[int, int, int, int] = (1, 3, 4, 5)

# Workbook-level defined names. The 部门 sheet's total is ``=部门预算总额``, so whoever writes
# 部门汇总 only re-points this name at its total cell. Each 一级 name is itself a defined name
# holding its allowed 二级 (for the dependent dropdown ``=INDIRECT(一级 cell)``).
TOTAL_NAME = "部门预算总额"
LEVEL1_LIST_NAME = "一级指标列表"

SUMMARY_HEADER: tuple[str, ...] = (
    "序号",
    "项目编码",
    "项目名称",
    "预算数",
    "财政资金",
    "其他资金",
    *PLAN_CHECKPOINTS,
    "指标数",
    "错误数",
    "警告数",
)
ISSUES_HEADER: tuple[str, ...] = ("级别", "规则", "说明", "项目", "单元格", "当前值")
