"""The indicator scheme (rules.md §3): canonical 一级/二级 names, Scheme H and C, row kinds.

Every rule that reasons about where an indicator sits imports from here, so the name
normalisation (产出 → 产出指标, 环境效益 → 生态效益指标 …) and the scheme choice are made once.

Public API:

- ``canonical_level1(name)`` / ``canonical_level2(name)``: the canonical spelling of a 一级/二级.
- ``SCHEMES``: the allowed 二级 per 一级 for Scheme H (财预〔2015〕88号) and Scheme C (101号).
- ``scheme_signals(project)`` and ``detect_scheme(project, config)``: which scheme a table uses;
  ``project_scheme(project, ctx)`` is the same answer, worked out once per run.
- ``is_placeholder_row`` / ``is_substantive``: 不涉及 or empty rows versus real indicators;
  ``substantive_rows(project)``: the real indicators with their parsed values.
- ``is_cost`` (``is_cost_row`` for the 一级/二级 names), ``is_satisfaction_block``: where a row sits.
- ``is_capped_ratio``, ``is_reverse_ratio``, ``is_rate_name``, ``is_count_name``,
  ``is_date_name``: what a 三级 name says it measures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from perfxl.config import Config
from perfxl.model import Indicator, Project
from perfxl.rules.registry import Context
from perfxl.textnorm import label_key
from perfxl.values import ParsedValue, ValueKind, parse_value

Scheme = Literal["H", "C"]

OUTPUT = "产出指标"
BENEFIT = "效益指标"
SATISFACTION = "满意度指标"
COST = "成本指标"

QUANTITY = "数量指标"
QUALITY = "质量指标"
TIMELINESS = "时效指标"
ECONOMIC_BENEFIT = "经济效益指标"
SOCIAL_BENEFIT = "社会效益指标"
ECOLOGICAL_BENEFIT = "生态效益指标"
SUSTAINABLE_IMPACT = "可持续影响指标"
SERVICE_SATISFACTION = "服务对象满意度指标"
ECONOMIC_COST = "经济成本指标"
SOCIAL_COST = "社会成本指标"
ECOLOGICAL_COST = "生态环境成本指标"

# Scheme C keeps 可持续影响 only as an allowed legacy 二级 (rules.md §3.2), reported as info.
SCHEMES: dict[Scheme, dict[str, tuple[str, ...]]] = {
    "H": {
        OUTPUT: (QUANTITY, QUALITY, TIMELINESS, COST),
        BENEFIT: (ECONOMIC_BENEFIT, SOCIAL_BENEFIT, ECOLOGICAL_BENEFIT, SUSTAINABLE_IMPACT),
        SATISFACTION: (SERVICE_SATISFACTION,),
    },
    "C": {
        COST: (ECONOMIC_COST, SOCIAL_COST, ECOLOGICAL_COST),
        OUTPUT: (QUANTITY, QUALITY, TIMELINESS),
        BENEFIT: (ECONOMIC_BENEFIT, SOCIAL_BENEFIT, ECOLOGICAL_BENEFIT),
        SATISFACTION: (SERVICE_SATISFACTION,),
    },
}
C_COST_LEVEL2 = frozenset({ECONOMIC_COST, SOCIAL_COST, ECOLOGICAL_COST})
# 二级 that may never be 不涉及: the output dimensions and the direct monetary cost.
MANDATORY_LEVEL2 = frozenset({QUANTITY, QUALITY, TIMELINESS, COST, ECONOMIC_COST})

_LEVEL1 = {"产出": OUTPUT, "效益": BENEFIT, "满意度": SATISFACTION, "成本": COST}
_LEVEL2 = {
    "数量": QUANTITY,
    "质量": QUALITY,
    "时效": TIMELINESS,
    "成本": COST,
    "经济效益": ECONOMIC_BENEFIT,
    "社会效益": SOCIAL_BENEFIT,
    "生态效益": ECOLOGICAL_BENEFIT,
    "环境效益": ECOLOGICAL_BENEFIT,
    "生态环境效益": ECOLOGICAL_BENEFIT,
    "可持续影响": SUSTAINABLE_IMPACT,
    "可持续发展": SUSTAINABLE_IMPACT,
    "服务对象满意度": SERVICE_SATISFACTION,
    "社会公众或服务对象满意度": SERVICE_SATISFACTION,
    "社会公众满意度": SERVICE_SATISFACTION,
    "满意度": SERVICE_SATISFACTION,
    "经济成本": ECONOMIC_COST,
    "社会成本": SOCIAL_COST,
    "生态环境成本": ECOLOGICAL_COST,
    "环境成本": ECOLOGICAL_COST,
}
_PLACEHOLDER_NAMES = frozenset({"", "不涉及", "无", "/", "-", "—", "——", "－", "暂无", "不适用"})

CAPPED_SUFFIXES: tuple[str, ...] = (
    "合格率",
    "完成率",
    "覆盖率",
    "及时率",
    "准确率",
    "完好率",
    "通过率",
    "知晓率",
    "执行率",
    "到位率",
    "发放率",
    "满意度",
)
REVERSE_MARKERS: tuple[str, ...] = (
    "逾期",
    "差错",
    "事故",
    "投诉",
    "故障",
    "失误",
    "违规",
    "违约",
    "违法",
    "不合格",
    "漏报",
    "误报",
    "错误",
    "流失",
    "损失",
    "返工",
    "退回",
    "超支",
    "空置",
    "闲置",
    "发病",
    "死亡",
    "辍学",
    "返贫",
    "拖欠",
    "缺陷",
    "失败",
    "超标",
)
COUNT_SUFFIXES: tuple[str, ...] = (
    "数量",
    "人数",
    "次数",
    "场次",
    "个数",
    "户数",
    "家数",
    "人次",
    "总数",
    "件数",
    "批次",
    "项数",
    "企业",
    "总量",
    "报送量",
    "户",
    "家",
)
_RATE_RE = re.compile(r"(?:率|比例|比率|占比|满意度)$")
_DATE_RE = re.compile(r"时限|时间|日期|期限|时点")


# The predicates below are pure functions of a few strings, asked about every indicator by many
# rules (and about every pair of projects by the copy checks); caching them makes validation of a
# department several times faster.
@lru_cache(maxsize=1 << 14)
def canonical_level1(name: str) -> str:
    """Return the canonical 一级 name (产出指标/效益指标/满意度指标/成本指标), else the squashed input."""
    key = label_key(name)
    return _LEVEL1.get(key.removesuffix("指标"), key)


@lru_cache(maxsize=1 << 14)
def canonical_level2(name: str) -> str:
    """Return the canonical 二级 name (e.g. 环境效益 → 生态效益指标), else the squashed input."""
    key = label_key(name)
    return _LEVEL2.get(key.removesuffix("指标"), key)


def allowed_level2(scheme: Scheme, level1: str) -> tuple[str, ...]:
    """Return the 二级 names the scheme allows under ``level1`` (empty for an unknown 一级)."""
    return SCHEMES[scheme].get(canonical_level1(level1), ())


@dataclass(frozen=True)
class SchemeSignals:
    """Where a table puts its cost indicators, the evidence for Scheme H or C."""

    cost_level1: bool
    """成本指标 is a 一级 (Scheme C)."""
    cost_under_output: bool
    """成本指标 is a 二级 under 产出 (Scheme H)."""
    c_cost_level2: bool
    """经济/社会/生态环境成本 appear as 二级 (Scheme C)."""
    c_cost_level3_under_output: bool
    """经济/社会/生态环境成本 appear as 三级 under 产出/成本 (the Gansu hybrid)."""

    @property
    def mixed(self) -> bool:
        """Return True when the table uses the H and C cost placements at once (PT-STR-008)."""
        return self.cost_under_output and (self.cost_level1 or self.c_cost_level2)

    @property
    def hybrid(self) -> bool:
        """Return True for 成本 under 产出 with the C sub-levels as 三级 (PT-STR-008b)."""
        return self.cost_under_output and self.c_cost_level3_under_output and not self.mixed


def scheme_signals(project: Project) -> SchemeSignals:
    """Return the cost placements seen in the project's indicator table."""
    cost_level1 = cost_under_output = c_level2 = c_level3 = False
    for ind in project.indicators:
        l1, l2 = canonical_level1(ind.level1), canonical_level2(ind.level2)
        cost_level1 |= l1 == COST
        c_level2 |= l2 in C_COST_LEVEL2
        if l1 == OUTPUT and l2 == COST:
            cost_under_output = True
            c_level3 |= canonical_level2(ind.level3) in C_COST_LEVEL2
    return SchemeSignals(cost_level1, cost_under_output, c_level2, c_level3)


def detect_scheme(project: Project, config: Config) -> Scheme:
    """Return the scheme of the project's table: ``config.scheme`` unless it is auto."""
    if config.scheme != "auto":
        return config.scheme
    return _scheme_of(scheme_signals(project))


def _scheme_of(signals: SchemeSignals) -> Scheme:
    return "C" if signals.cost_level1 or signals.c_cost_level2 else "H"


def project_scheme(project: Project, ctx: Context) -> Scheme:
    """Return ``detect_scheme(project, ctx.config)``, reading the table once per run."""
    if ctx.config.scheme != "auto":
        return ctx.config.scheme
    return _scheme_of(ctx.once(scheme_signals, project))


def is_placeholder_row(ind: Indicator) -> bool:
    """Return True for a 不涉及 row or an entirely empty one (no 三级, 描述 or 指标值)."""
    return _placeholder_row(ind.level3, ind.description, ind.value)


@lru_cache(maxsize=1 << 14)
def _placeholder_row(level3_text: str, description: str, value_text: str) -> bool:
    level3 = label_key(level3_text)
    if level3 in _PLACEHOLDER_NAMES and level3:
        return True
    if not level3 and not label_key(description) and not label_key(value_text):
        return True
    value = label_key(value_text)
    return bool(value) and parse_value(value_text).kind is ValueKind.PLACEHOLDER


def is_negative_benefit(ind: Indicator) -> bool:
    """Return True for a 效益 row answered with a bare 否 (e.g. 是否产生经济价值 = 否)."""
    return canonical_level1(ind.level1) == BENEFIT and label_key(ind.value) == "否"


def is_substantive(ind: Indicator) -> bool:
    """Return True for a real indicator: a 三级 name and a value that is neither 不涉及 nor empty."""
    return _substantive(ind.level1, ind.level3, ind.description, ind.value)


@lru_cache(maxsize=1 << 14)
def _substantive(level1: str, level3: str, description: str, value: str) -> bool:
    if _placeholder_row(level3, description, value) or not label_key(level3):
        return False
    if canonical_level1(level1) == BENEFIT and label_key(value) == "否":
        return False
    return parse_value(value).kind is not ValueKind.PLACEHOLDER


def substantive_rows(project: Project) -> list[tuple[Indicator, ParsedValue]]:
    """Return the project's substantive indicators, in table order, each with its parsed 指标值."""
    return [(ind, parse_value(ind.value)) for ind in project.indicators if is_substantive(ind)]


def is_cost(ind: Indicator) -> bool:
    """Return True for a cost indicator: under 一级 成本指标 or 二级 成本/经济/社会/生态环境成本."""
    return is_cost_row(ind.level1, ind.level2)


@lru_cache(maxsize=1 << 12)
def is_cost_row(level1: str, level2: str) -> bool:
    """Return True when a row under this 一级 and 二级 is a cost indicator (see ``is_cost``)."""
    l2 = canonical_level2(level2)
    return canonical_level1(level1) == COST or l2 == COST or l2 in C_COST_LEVEL2


def is_satisfaction_block(ind: Indicator) -> bool:
    """Return True when the row sits in the 满意度指标 block."""
    return canonical_level1(ind.level1) == SATISFACTION


@lru_cache(maxsize=1 << 14)
def is_reverse_ratio(name: str) -> bool:
    """Return True for a rate where lower is better (逾期率, 差错率, 事故发生率, 投诉率 …)."""
    key = label_key(name)
    return key.endswith("率") and any(marker in key for marker in REVERSE_MARKERS)


@lru_cache(maxsize=1 << 14)
def is_capped_ratio(name: str) -> bool:
    """Return True for a ratio that cannot exceed 100% (…合格率, …完成率, …满意度 …), not reverse."""
    key = label_key(name)
    return key.endswith(CAPPED_SUFFIXES) and not is_reverse_ratio(key)


@lru_cache(maxsize=1 << 14)
def is_rate_name(name: str) -> bool:
    """Return True when the name says it is a rate or ratio (…率, …比例, …占比, …满意度)."""
    return bool(_RATE_RE.search(label_key(name)))


@lru_cache(maxsize=1 << 14)
def is_count_name(name: str) -> bool:
    """Return True when the name says it is a count (…数量, …人数, …次数, …企业, …报送量 …)."""
    key = label_key(name)
    return key.endswith(COUNT_SUFFIXES) and not is_rate_name(key)


@lru_cache(maxsize=1 << 14)
def is_date_name(name: str) -> bool:
    """Return True when the name says it is a date or time limit (…时限, …时间, …日期)."""
    return bool(_DATE_RE.search(label_key(name)))
