"""Structure and completeness rules (rules.md §8.1) and keyword misclassification (PT-CLS-001)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

from perfxl.model import Indicator, Project, Severity
from perfxl.rules.registry import Context, Hit, hit, rule
from perfxl.rules.scheme import (
    BENEFIT,
    COST,
    MANDATORY_LEVEL2,
    OUTPUT,
    QUALITY,
    QUANTITY,
    SATISFACTION,
    SCHEMES,
    SOCIAL_BENEFIT,
    SUSTAINABLE_IMPACT,
    TIMELINESS,
    Scheme,
    allowed_level2,
    canonical_level1,
    canonical_level2,
    is_count_name,
    is_negative_benefit,
    is_placeholder_row,
    is_satisfaction_block,
    is_substantive,
    project_scheme,
    scheme_signals,
    substantive_rows,
)
from perfxl.textnorm import label_key
from perfxl.values import ValueKind, parse_value

_SCHEME_NAMES: dict[Scheme, str] = {"H": "财预〔2015〕88号体系", "C": "财预〔2021〕101号体系"}


def _block(project: Project, level1: str) -> list[Indicator]:
    return [i for i in project.indicators if canonical_level1(i.level1) == level1]


# --- PT-STR-001 -----------------------------------------------------------------------------

_REQUIRED_LABELS = {
    "name": "项目名称",
    "code": "项目编码",
    "budget": "预算数",
    "fiscal_funds": "财政资金",
    "use_of_funds": "资金用途",
    "spending_plan": "资金支出计划",
    "goal": "绩效目标",
    "indicators": "绩效指标表",
}


def _missing_fields(project: Project) -> Iterator[str]:
    for field in ("name", "code"):
        if not getattr(project, field).strip():
            yield field
    for field in ("budget", "fiscal_funds"):
        if getattr(project, field) is None:
            yield field
    if not project.use_of_funds.strip():
        yield "use_of_funds"
    if all(v is None for v in project.spending_plan):
        yield "spending_plan"
    if not project.goal.strip():
        yield "goal"
    if not project.indicators:
        yield "indicators"


@rule("PT-STR-001", Severity.ERROR, "必填项缺失", "缺少必填项「{label}」")
def required_fields(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield one hit per required header field (or the indicator table) that is missing."""
    for field in _missing_fields(project):
        yield hit(field, label=_REQUIRED_LABELS[field])


# --- PT-STR-002 -----------------------------------------------------------------------------

# Which field a non-standard label stood for, so the finding points at that field's cell.
_LABEL_FIELDS: tuple[tuple[str, str], ...] = (
    ("项目编", "code"),
    ("项目名称", "name"),
    ("预算数", "budget"),
    ("财政资金", "fiscal_funds"),
    ("其他资金", "other_funds"),
    ("资金用途", "use_of_funds"),
    ("支出计划", "spending_plan"),
    ("绩效目标", "goal"),
    ("指标", "indicators"),
)


def _label_field(label: str) -> str:
    key = label_key(label)
    return next((field for marker, field in _LABEL_FIELDS if marker in key), "label_variants")


@rule("PT-STR-002", Severity.INFO, "标签写法不规范", "表中使用了非标准标签「{label}」，已按标准字段读取")
def label_variants(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield one hit per non-standard label the reader met (项目编号, 资金支出计 划 …)."""
    for label in project.label_variants:
        yield hit(_label_field(label), value=label, label=label)


# --- PT-STR-003 -----------------------------------------------------------------------------


@rule(
    "PT-STR-003",
    Severity.ERROR,
    "缺少一级指标",
    "缺少一级指标「{name}」",
    variants={"satisfaction": "缺少一级指标「{name}」（如项目确无服务对象，可在配置中列为满意度豁免）"},
)
def required_level1(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per missing required 一级: 产出, 效益 (+ 成本 in Scheme C); 满意度 as a warning."""
    if not project.indicators:
        return
    present = {canonical_level1(i.level1) for i in project.indicators}
    required = [OUTPUT, BENEFIT] if project_scheme(project, ctx) == "H" else [COST, OUTPUT, BENEFIT]
    for name in required:
        if name not in present:
            yield hit("indicators", name=name)
    if SATISFACTION not in present and project.code not in ctx.config.satisfaction_exempt:
        yield hit("indicators", severity=Severity.WARNING, template="satisfaction", name=SATISFACTION)


# --- PT-STR-004 -----------------------------------------------------------------------------


@rule("PT-STR-004", Severity.ERROR, "产出指标下二级指标不全", "产出指标下缺少二级指标「{name}」")
def output_level2(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per missing 产出 二级: 数量 (error); 质量, 时效, and 成本 in Scheme H (warning)."""
    output = _block(project, OUTPUT)
    if not output:
        return
    present = {canonical_level2(i.level2) for i in output}
    expected = [(QUANTITY, Severity.ERROR), (QUALITY, Severity.WARNING), (TIMELINESS, Severity.WARNING)]
    if project_scheme(project, ctx) == "H":
        expected.append((COST, Severity.WARNING))
    for name, severity in expected:
        if name not in present:
            yield hit("level2", indicator=output[0], severity=severity, name=name)


# --- PT-STR-005 -----------------------------------------------------------------------------


@rule(
    "PT-STR-005",
    Severity.ERROR,
    "效益指标无实质内容",
    "效益指标下没有实质性的三级指标（均为空或「不涉及」）",
)
def substantive_benefit(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the 效益 block exists but holds no substantive 三级."""
    benefit = _block(project, BENEFIT)
    if benefit and not any(is_substantive(i) for i in benefit):
        yield hit("level3", indicator=benefit[0], value=benefit[0].level3)


# --- PT-STR-006 -----------------------------------------------------------------------------


@rule(
    "PT-STR-006",
    Severity.ERROR,
    "满意度指标位置错误",
    "「{name}」是满意度指标，却填在「{level1}/{level2}」下，应移到满意度指标中",
)
def satisfaction_outside_block(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per indicator whose 三级 contains 满意 but which sits outside the 满意度 block."""
    for ind in project.indicators:
        if "满意" in ind.level3 and not is_satisfaction_block(ind) and not is_placeholder_row(ind):
            yield hit("level3", indicator=ind, value=ind.level3, name=ind.level3, level1=ind.level1, level2=ind.level2)


# --- PT-STR-007 -----------------------------------------------------------------------------


@rule(
    "PT-STR-007",
    Severity.ERROR,
    "二级指标与一级指标不匹配",
    "二级指标「{level2}」不属于一级指标「{level1}」（{scheme}）",
    variants={"level1": "一级指标「{level1}」不属于{scheme}的一级指标"},
)
def level2_belongs(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per distinct 一级/二级 pair the detected scheme does not allow."""
    scheme = project_scheme(project, ctx)
    signals = ctx.once(scheme_signals, project)
    seen: set[tuple[str, str]] = set()
    for ind in project.indicators:
        l1, l2 = canonical_level1(ind.level1), canonical_level2(ind.level2)
        if not l1 or (l1, l2) in seen:
            continue
        seen.add((l1, l2))
        if l1 not in SCHEMES[scheme]:
            yield hit(
                "level1",
                indicator=ind,
                value=ind.level1,
                template="level1",
                level1=ind.level1,
                scheme=_SCHEME_NAMES[scheme],
            )
            continue
        # Legacy 可持续影响 (Scheme C) and a mixed cost placement have their own PT-STR-008 finding.
        legacy = scheme == "C" and l1 == BENEFIT and l2 == SUSTAINABLE_IMPACT
        mixed_cost = signals.mixed and l1 == OUTPUT and l2 == COST
        if l2 and l2 not in allowed_level2(scheme, l1) and not legacy and not mixed_cost:
            yield hit(
                "level2",
                indicator=ind,
                value=ind.level2,
                level1=ind.level1,
                level2=ind.level2,
                scheme=_SCHEME_NAMES[scheme],
            )


# --- PT-STR-008 / PT-STR-008b ---------------------------------------------------------------


@rule(
    "PT-STR-008",
    Severity.ERROR,
    "指标体系混用",
    "成本指标既作为一级指标（或使用经济/社会/生态环境成本二级指标），又作为产出指标下的二级指标，"
    "混用了财预〔2015〕88号与财预〔2021〕101号两种指标体系",
    variants={"legacy": "财预〔2021〕101号体系的效益指标不再包含「可持续影响指标」，本表仍在使用，请确认是否保留"},
)
def mixed_scheme(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield an error when H and C cost placements are mixed; info for 可持续影响 in Scheme C."""
    if ctx.once(scheme_signals, project).mixed:
        cost_rows = [i for i in project.indicators if canonical_level2(i.level2) == COST]
        yield hit("level2", indicator=cost_rows[0] if cost_rows else None, value="成本指标")
    if project_scheme(project, ctx) == "C":
        legacy = [i for i in project.indicators if canonical_level2(i.level2) == SUSTAINABLE_IMPACT]
        if legacy:
            yield hit("level2", indicator=legacy[0], value=legacy[0].level2, severity=Severity.INFO, template="legacy")


@rule(
    "PT-STR-008b",
    Severity.INFO,
    "成本指标混合写法",
    "成本指标放在产出指标下，但以经济成本/社会成本/生态环境成本作为三级指标（混合写法），已按财预〔2015〕88号体系接受",
)
def hybrid_cost(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield an info hit for the Gansu hybrid: 成本 under 产出 with the C sub-levels as 三级."""
    if ctx.once(scheme_signals, project).hybrid:
        row = next(i for i in project.indicators if canonical_level2(i.level2) == COST)
        yield hit("level3", indicator=row, value=row.level3)


# --- PT-STR-009 -----------------------------------------------------------------------------


@rule(
    "PT-STR-009",
    Severity.ERROR,
    "指标内容不完整",
    "「{name}」的指标值为空",
    variants={
        "level3": "三级指标名称为空（指标值「{shown}」）",
        "basis": "「{name}」未填写指标值确定依据",
        "description": "「{name}」未填写绩效指标描述",
    },
)
def incomplete_rows(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield hits for empty 三级 or 指标值 (error), 依据 (warning) and 描述 (info) on real rows."""
    for ind in project.indicators:
        if is_placeholder_row(ind):
            continue
        if not label_key(ind.level3):
            yield hit("level3", indicator=ind, template="level3", value=ind.value, shown=ind.value)
            continue
        if not label_key(ind.value):
            yield hit("value", indicator=ind, name=ind.level3)
            continue
        if not label_key(ind.basis):
            yield hit("basis", indicator=ind, severity=Severity.WARNING, template="basis", name=ind.level3)
        if not label_key(ind.description):
            yield hit("description", indicator=ind, severity=Severity.INFO, template="description", name=ind.level3)


# --- PT-STR-010 -----------------------------------------------------------------------------


@rule(
    "PT-STR-010",
    Severity.INFO,
    "不涉及或空行",
    "「{level2}」填写为不涉及，却给出了指标值确定依据「{basis}」；不涉及的指标无需依据，也不计入有效指标",
    variants={
        "mandatory": "「{level2}」不能填写为不涉及或留空，必须设置实质性的三级指标",
        "negative": "「{name}」的指标值为「否」，实际等同于不涉及，不计入有效指标",
    },
)
def placeholder_rows(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield an error for 不涉及/empty rows under a mandatory 二级, info for other placeholder rows."""
    substantive_level2 = {canonical_level2(i.level2) for i, _ in ctx.once(substantive_rows, project)}
    for ind in project.indicators:
        if is_negative_benefit(ind):
            yield hit("value", indicator=ind, value=ind.value, template="negative", name=ind.level3)
            continue
        if not is_placeholder_row(ind):
            continue
        level2 = canonical_level2(ind.level2)
        if level2 in MANDATORY_LEVEL2 and level2 not in substantive_level2:
            yield hit(
                "level3",
                indicator=ind,
                value=ind.level3 or ind.value,
                severity=Severity.ERROR,
                template="mandatory",
                level2=ind.level2,
            )
        elif parse_value(ind.basis).kind is not ValueKind.PLACEHOLDER:
            yield hit("basis", indicator=ind, value=ind.basis, level2=ind.level2, basis=ind.basis)


# --- PT-STR-011 -----------------------------------------------------------------------------


@rule(
    "PT-STR-011",
    Severity.WARNING,
    "三级指标数量",
    "有效三级指标仅 {count} 个，少于 {minimum} 个",
    variants={"many": "三级指标多达 {count} 个，超过 {maximum} 个，建议精简为核心指标"},
)
def indicator_count(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a warning below the configured minimum of substantive 三级, info above the maximum."""
    if not project.indicators:
        return
    count = len(ctx.once(substantive_rows, project))
    limits = ctx.config.thresholds
    if count < limits.min_indicators:
        yield hit("indicators", value=count, count=count, minimum=limits.min_indicators)
    elif count > limits.max_indicators:
        yield hit(
            "indicators",
            value=count,
            severity=Severity.INFO,
            template="many",
            count=count,
            maximum=limits.max_indicators,
        )


# --- PT-STR-012 -----------------------------------------------------------------------------


@rule("PT-STR-012", Severity.WARNING, "三级指标重复", "三级指标「{name}」在本项目中出现 {count} 次")
def duplicate_level3(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit at the second occurrence of every 三级 name used more than once."""
    named = [(i, key) for i in project.indicators if (key := label_key(i.level3))]
    if len({key for _, key in named}) == len(named):
        return  # no name repeats at all, so none repeats among the real rows
    real = [(i, key) for i, key in named if not is_placeholder_row(i)]
    counts = Counter(key for _, key in real)
    reported: set[str] = set()
    seen: set[str] = set()
    for ind, key in real:
        if key in seen and key not in reported:
            reported.add(key)
            yield hit("level3", indicator=ind, value=ind.level3, name=ind.level3, count=counts[key])
        seen.add(key)


# --- PT-CLS-001 -----------------------------------------------------------------------------

_ECONOMIC_WORDS = (
    "经济效益",
    "经济价值",
    "经济增长",
    "产值",
    "营收",
    "营业收入",
    "销售收入",
    "销售额",
    "增收",
    "利润",
    "税收",
    "增加值",
    "投资额",
    "节约资金",
    "节省资金",
)
_COUNT_UNITS = frozenset({"家", "户", "个", "人", "人次", "次", "场", "件", "项", "批", "批次", "台", "套", "所"})
_TIMELINESS_MISFITS = ("运行率", "完好率", "合格率", "达标率", "准确率", "在线率", "正常率", "可用率")
_OUTPUT_VERBS = ("提供", "完成", "举办", "召开", "开展", "组织", "发放", "报送", "采购", "购买", "支付", "印制")
_BENEFIT_WORDS = (
    "提升",
    "支撑",
    "决策",
    "提高",
    "促进",
    "带动",
    "增加",
    "增长",
    "减少",
    "降低",
    "改善",
    "效果",
    "效益",
    "影响",
    "带来",
    "推动",
    "助力",
    "水平",
    "能力",
    "节约",
    "优化",
    "增强",
    "保障",
)
_LEADING_FOR = re.compile(r"^为[^，。]{1,8}?(?=提供|完成|举办|召开|开展|组织|发放|报送)")


@lru_cache(maxsize=1 << 14)
def _misclassification(level1: str, level2_text: str, level3: str, value: str) -> str | None:
    """Return the message variant when the 三级 wording contradicts its 二级, else None."""
    name = label_key(level3)
    level2 = canonical_level2(level2_text)
    if level2 == SOCIAL_BENEFIT and any(w in name for w in _ECONOMIC_WORDS):
        return "economic"
    if level2 == QUALITY:
        parsed = parse_value(value)
        if is_count_name(name) or (parsed.kind is ValueKind.NUMERIC and parsed.unit in _COUNT_UNITS):
            return "count"
    if level2 == TIMELINESS and name.endswith(_TIMELINESS_MISFITS):
        return "timeliness"
    if canonical_level1(level1) == BENEFIT:
        core = _LEADING_FOR.sub("", name)
        if core.startswith(_OUTPUT_VERBS) and not any(w in name for w in _BENEFIT_WORDS):
            return "output"
    return None


@rule(
    "PT-CLS-001",
    Severity.WARNING,
    "指标分类疑似错误",
    "「{name}」描述的是经济方面的效益，却归在「{level2}」下，应归入经济效益指标",
    variants={
        "count": "「{name}」（指标值「{shown}」）衡量的是数量，却归在「{level2}」下，应归入数量指标或改为质量比率",
        "timeliness": "「{name}」衡量的是运行状况或质量，却归在「{level2}」下，应归入质量指标",
        "output": "「{name}」只是一项产出（工作量），却归在「{level1}/{level2}」下，效益指标应反映项目带来的效果",
    },
)
def misclassified(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per 三级 whose wording suggests another 二级 (keyword heuristic).

    It sees only the words of the 三级 and the unit of the 指标值: economic wording under
    社会效益, counts (…家/…户/报送量) under 质量, operating or quality rates under 时效, and bare
    outputs (提供…, 举办…) under 效益. It cannot judge meaning beyond those keywords, and leaves a
    满意 indicator outside the 满意度 block to PT-STR-006.
    """
    for ind, _ in ctx.once(substantive_rows, project):
        if "满意" in ind.level3:
            continue
        variant = _misclassification(ind.level1, ind.level2, ind.level3, ind.value)
        if variant is not None:
            yield hit(
                "level3",
                indicator=ind,
                value=ind.level3,
                template=variant,
                name=ind.level3,
                level1=ind.level1,
                level2=ind.level2,
                shown=ind.value,
            )


# --- PT-STR-013 -----------------------------------------------------------------------------


@rule(
    "PT-STR-013",
    Severity.WARNING,
    "项目表已隐藏",
    "工作表「{sheet}」是隐藏的，其中的项目仍计入部门预算和汇总；不申报此项目请删除该表，要申报请取消隐藏",
)
def hidden_sheet(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the project's sheet is hidden: counted in every total, yet out of sight in Excel."""
    if project.hidden:
        yield hit("name", value=project.sheet or "", sheet=project.sheet or "")
