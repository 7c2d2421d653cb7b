"""Text, reference and cross-project rules (rules.md §4, §8.5).

Most of these rules read prose, so they are heuristics: keyword overlap, shared substrings,
number-and-unit patterns. Each check says in its docstring what it cannot see. The
cross-project and Part 1 rules run once per department and name the project on every hit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher
from functools import lru_cache

from perfxl.model import Department, Indicator, Project, Severity
from perfxl.rules.money import q2, unit_family
from perfxl.rules.registry import Context, Hit, hit, rule
from perfxl.rules.scheme import QUANTITY, canonical_level2, is_satisfaction_block, substantive_rows
from perfxl.textnorm import clean_prose, label_key
from perfxl.values import ParsedValue, ValueKind, format_amount, parse_value

_CJK = r"\u4e00-\u9fff"

# A 文号 in any bracket style: 冀财建〔2024〕269号, 冀财建【2024】269号, 冀财建[2024]]274号.
_DOC_NUMBER = re.compile(
    rf"(?P<prefix>[{_CJK}]{{1,6}})(?P<open>[\[【〔(（〖]+)(?P<year>(?:19|20)\d{{2}})"
    rf"(?P<close>[\]】〕)）〗]+)(?P<num>\d{{1,5}})号"
)


def _without_doc_numbers(text: str) -> str:
    # Every 文号 ends in 号: a text without one is left as it is, without the costly scan.
    return _DOC_NUMBER.sub("", text) if "号" in text else text


# --- PT-TXT-001 -----------------------------------------------------------------------------

_COUNT_UNITS = "人次|人|家|户|个|次|场|项|期|批次|批|名|所|台|套|篇|份|条|课时|学时|小时|天|公里|米|亩|平方米|吨"
# The patterns of this part run over every goal. Each opens with one character class (or is a
# choice of words), which lets the scanner skip to where a match can start; the look-behinds
# then continue as the plain alternatives would (a number, or 两三四…十).
_CN_DIGITS = "两三四五六七八九十"
# A number with a unit of money or count (3场, 20万元, 95%), or 三场.
_AMOUNT_OR_COUNT = re.compile(
    rf"[\d{_CN_DIGITS}](?:(?<=\d)\d*(?:\.\d+)?(?:万|亿)?(?:元|{_COUNT_UNITS}|%)|(?<=[{_CN_DIGITS}])[{_CN_DIGITS}]*(?:场|次|期|批|项))"
)
# A time bound: 2025年, 年底, 12月 …, in two patterns (words; a year or month number).
_TIME_WORDS = re.compile("年底|年末|年内|全年|月底|月末|季度|前完成|之前|以前")
_TIME_NUMBER = re.compile(r"\d(?:\d{3}年|\d?月)")


@rule(
    "PT-TXT-001",
    Severity.WARNING,
    "绩效目标未量化",
    "绩效目标未写明{missing}，应细化量化，例如「{year}年12月底前支出X万元用于……，完成……」",
)
def goal_quantified(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when the 绩效目标 has no quantity or amount, or no time bound."""
    goal = clean_prose(project.goal)
    if not goal:
        return  # a missing goal is PT-STR-001's finding
    missing = []
    if not _AMOUNT_OR_COUNT.search(goal):
        missing.append("数量或金额")
    if not (_TIME_WORDS.search(goal) or _TIME_NUMBER.search(goal)):
        missing.append("完成时限")
    if missing:
        yield hit("goal", value=project.goal, missing="和".join(missing), year=ctx.department.year or "YYYY")


# --- PT-TXT-002 -----------------------------------------------------------------------------

_CN_NUMBERS = {"两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_PROMISE_UNITS = "人次|人|家|户|个|场|次|项|期|批|名|所|课时|学时"
# A number (3, 360, 1.5) or one of 两三四…十, then a unit: 3场, 两期, 360人以上.
_PROMISE_AFTER = re.compile(
    rf"(?P<num>[\d{_CN_DIGITS}](?:(?<=\d)\d*(?:\.\d+)?)?)(?P<unit>{_PROMISE_UNITS})(?:及以上|以上)?"
)
# "培训人360以上", "企业20家": the counted noun comes first.
_PROMISE_BEFORE = re.compile(
    r"(?:培训|参训|服务|帮扶|覆盖|惠及|新增|带动|吸纳|引进|监测|培育)?(?P<noun>人数|人员|学员|人|企业|户)(?:达到|不少于|不低于|为|达)?(?P<num>\d+(?:\.\d+)?)"
    r"(?P<unit>人次|人|家|户|名)?(?:及以上|以上)?"
)
# What every _PROMISE_BEFORE match holds: the noun's last character, at most three more, a digit.
_PROMISE_BEFORE_HINT = re.compile(r"[数员人业户].{0,3}\d")
_NOUN_UNITS = {"人数": "人", "人员": "人", "学员": "人", "人": "人", "企业": "家", "户": "户"}
_NAME_SPLIT = re.compile(r"[、,，;；]|(?<=[费金])(?:和|及|与)")
_GENERIC_SUFFIXES = ("专项资金", "补助资金", "工作经费", "经费", "资金", "费用", "费", "补助", "项目", "工作")


@dataclass(frozen=True)
class Promise:
    """A count the goal promises, e.g. 举办3场 or 培训人360以上."""

    text: str
    number: Decimal
    unit: str


def promises(goal: str) -> list[Promise]:
    """Return the counts promised in a goal text, one per (number, kind of unit)."""
    text = clean_prose(goal)
    found: dict[tuple[Decimal, frozenset[str] | None], Promise] = {}
    for m in _PROMISE_AFTER.finditer(text):
        num = m["num"]
        number = Decimal(_CN_NUMBERS[num]) if num in _CN_NUMBERS else Decimal(num)
        found.setdefault((number, unit_family(m["unit"])), Promise(m.group(0), number, m["unit"]))
    for m in _PROMISE_BEFORE.finditer(text) if _PROMISE_BEFORE_HINT.search(text) else ():
        unit = m["unit"] or _NOUN_UNITS[m["noun"]]
        number = Decimal(m["num"])
        found.setdefault((number, unit_family(unit)), Promise(m.group(0), number, unit))
    return list(found.values())


def _activity_parts(name: str) -> list[tuple[str, str]]:
    """Return (part, keyword) for each activity a compound project name lists (…执法经费、专家费)."""
    parts = [p for p in _NAME_SPLIT.split(label_key(name)) if p]
    if len(parts) < 2:
        return []
    found = []
    for part in parts:
        key = part
        while (suffix := next((s for s in _GENERIC_SUFFIXES if key.endswith(s)), None)) is not None:
            key = key[: -len(suffix)]
        if len(key) >= 2:
            found.append((part, key))
    return found


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


# Indicators name an activity by its usual short form (工业和信息化 → 工信).
_ABBREVIATIONS = {
    "工业和信息化": "工信",
    "科学技术": "科技",
    "发展和改革": "发改",
    "人力资源和社会保障": "人社",
    "住房和城乡建设": "住建",
    "市场监督管理": "市场监管",
}


def _abbreviated(text: str) -> str:
    for full, short in _ABBREVIATIONS.items():
        text = text.replace(full, short)
    return text


@rule(
    "PT-TXT-002",
    Severity.WARNING,
    "绩效目标与指标不对应",
    "绩效目标承诺「{promise}」，但没有数值一致的绩效指标",
    variants={
        "differs": "绩效目标承诺「{promise}」，而指标「{name}」为「{shown}」，两者不一致",
        "activity": "项目名称中的「{part}」在绩效指标中没有对应的指标",
        "use": "资金用途中的「{parts}」在绩效指标中没有对应的指标",
    },
)
def goal_covered(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per count promised in the goal without a matching indicator, and per uncovered activity.

    A promise (3场, 360人以上) is kept when some indicator states the same number in the same kind
    of unit. An activity is each part of a compound project name (…经费和盐业执法经费, …、专家费);
    it is covered when a two-character piece of it appears in an indicator's 三级 or 描述.
    An activity 资金用途 pays for (培训, 会议, 调研 …, a fixed list) is covered when its word
    appears there; one hit names all that are not, but those in a name part already reported
    and every one of a use unrelated to the name (PT-TXT-003's). This cannot see promises written
    as percentages or in words, other activities, or an indicator that covers one under a
    different word.
    """
    rows = ctx.once(substantive_rows, project)
    promised = promises(project.goal)
    counted = [
        (ind, parsed.number, unit_family(parsed.unit))
        for ind, parsed in (rows if promised else ())
        if parsed.kind is ValueKind.NUMERIC and parsed.number is not None
    ]
    for promise in promised:
        family = unit_family(promise.unit)
        same_kind = [(ind, n) for ind, n, f in counted if family is not None and f == family]
        if any(n == promise.number for _, n in same_kind):
            continue
        if same_kind:
            ind = same_kind[0][0]
            yield hit(
                "goal",
                value=promise.text,
                template="differs",
                promise=promise.text,
                name=ind.level3,
                shown=ind.value,
            )
        else:
            yield hit("goal", value=promise.text, promise=promise.text)
    # A two-character piece is in the bigrams of the covered text exactly when it occurs in it.
    covered = "|".join(label_key(f"{i.level3}|{i.description}") for i, _ in rows)
    named = ""
    for part, key in _activity_parts(project.name):
        if not any(piece in covered for piece in _bigrams(key) | _bigrams(_abbreviated(key))):
            named += key
            yield hit("name", value=part, template="activity", part=part)
    uncovered = _uses_without_indicator(project, covered, named)
    if uncovered:
        yield hit("use_of_funds", value=project.use_of_funds, template="use", parts="」「".join(uncovered))


# What 资金用途 says the money pays for that a reviewer expects an indicator of (培训 → 培训人数).
USE_ACTIVITIES = ("培训", "讲座", "会议", "调研", "督导", "宣传", "展会", "评审", "验收", "比赛", "考察")
_CLAUSE = re.compile(r"[^，。；、,;：:]+")
_CLAUSE_LEAD = re.compile(r"^(?:其中|资金|主要|用于|用来|开展|组织|举办|包括|进行|为)+")


def _uses_without_indicator(project: Project, covered: str, named: str) -> list[str]:
    """Return the clauses of 资金用途 naming an activity no indicator mentions (and ``named`` does not), in order."""
    use = clean_prose(project.use_of_funds)
    missing = [w for w in USE_ACTIVITIES if w in use and w not in covered and w not in named]
    if not missing or not related(project.name, use):
        return []
    clauses: list[str] = []
    for clause in _CLAUSE.findall(use):
        if any(w in clause for w in missing):
            text = _CLAUSE_LEAD.sub("", clause.strip())[:MAX_CLAUSE_CHARS]
            if text and text not in clauses:
                clauses.append(text)
    return clauses


MAX_CLAUSE_CHARS = 24


# --- PT-TXT-003 -----------------------------------------------------------------------------

_SOURCE = re.compile(r"获得.{0,20}资金|根据.{0,40}(?:分配意见|分配方案|下达|文件)|提前下达")
_SPEND = re.compile(r"用于|用来|用作|支付|开支")
_REGION_PREFIX = re.compile(rf"^[{_CJK}]{{2,3}}(?:市|县|区)(?=[{_CJK}]{{4}})")
_GENERIC_WORDS = re.compile(
    r"\d{4}年度?|提前下达|专项资金|补助资金|工作经费|经费|资金|费用|项目|工作|补助|专项|"
    r"省级|市级|县级|年度|支持|[“”\"'《》()（）、,，。;；:：\s]"
)
# A use mentioning at least this share of the name's characters is related after all (清欠 ↔ 清理拖欠).
RELATED_CHAR_SHARE = Decimal(1) / 3


def _name_key(name: str) -> str:
    """Return the distinctive part of a project name: no 文号, region, year or generic words."""
    text = _without_doc_numbers(clean_prose(name))
    text = _REGION_PREFIX.sub("", text)
    text = _GENERIC_WORDS.sub("", text)
    return text.removesuffix("费")


@lru_cache(maxsize=1 << 12)
def related(name: str, use: str) -> bool:
    """Return True when a use text shares a two-character piece, or a third of the characters, of the name."""
    key, text = _name_key(name), clean_prose(use)
    if len(key) < 2 or any(piece in text for piece in _bigrams(key)):
        return True
    chars = set(key)
    return Decimal(sum(1 for c in chars if c in text)) >= RELATED_CHAR_SHARE * len(chars)


@rule(
    "PT-TXT-003",
    Severity.WARNING,
    "资金用途表述不当",
    "资金用途只说明了资金来源（{source}），没有说明资金具体用于什么",
    variants={"unrelated": "资金用途与项目名称「{name}」无关（关键词没有重合），可能抄自其他项目"},
)
def use_describes_spending(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when 资金用途 only names where the money came from, or is unrelated to the name.

    "Only the source" means a source phrase (获得…资金, 根据…分配意见, 提前下达) with no spending
    phrase (用于, 支付 …). "Unrelated" means no shared two-character piece and under a third of
    the name's distinctive characters. Neither check understands meaning: a use written entirely
    in synonyms of the name looks unrelated, and a wrong use that repeats the name looks fine.
    """
    use = clean_prose(project.use_of_funds)
    if not use:
        return  # a missing use is PT-STR-001's finding
    source = _SOURCE.search(use)
    if source and not _SPEND.search(use):
        yield hit("use_of_funds", value=project.use_of_funds, source=source.group(0))
    if project.name.strip() and not related(project.name, use):
        yield hit("use_of_funds", value=project.use_of_funds, template="unrelated", name=project.name)


# --- PT-TXT-004 / PT-XPR-002 ----------------------------------------------------------------

# Texts this short are labels, not paragraphs; two of them agreeing is no evidence of copying.
MIN_COPY_LENGTH = 8
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")


def _prose_key(text: str) -> str:
    """Return a text with blanks, widths and numbers removed: copies differing only in amounts match."""
    return _NUMBERS.sub("#", label_key(text))


@lru_cache(maxsize=1 << 14)
def _row_key(level2: str, level3: str, description: str) -> tuple[str, str, str]:
    return canonical_level2(level2), label_key(level3), label_key(description)


def _row_keys(project: Project) -> frozenset[tuple[str, str, str]]:
    return _keys_of(substantive_rows(project))


def _keys_of(rows: list[tuple[Indicator, ParsedValue]]) -> frozenset[tuple[str, str, str]]:
    return frozenset(_row_key(i.level2, i.level3, i.description) for i, _ in rows)


def _overlap(rows_a: frozenset[tuple[str, ...]], rows_b: frozenset[tuple[str, ...]]) -> tuple[int, int]:
    return len(rows_a & rows_b), max(len(rows_a), len(rows_b))


def row_similarity(a: Project, b: Project) -> tuple[int, int]:
    """Return (rows the two projects share, rows of the larger) over substantive (二级, 三级, 描述)."""
    return _overlap(_row_keys(a), _row_keys(b))


def _memo_row_keys(project: Project, ctx: Context) -> frozenset[tuple[str, str, str]]:
    # Every pair of projects is compared, so each project's row keys are built once per run.
    return ctx.once(_keys_of, ctx.once(substantive_rows, project))


def _similar_rows(
    rows_a: frozenset[tuple[str, ...]], rows_b: frozenset[tuple[str, ...]], ctx: Context
) -> tuple[int, int] | None:
    shared, total = _overlap(rows_a, rows_b)
    if total and Decimal(shared) >= ctx.config.thresholds.copy_similarity * total:
        return shared, total
    return None


def _copy_key(text: str) -> str | None:
    """Return the prose key of a text long enough for a match to mean copying, else None."""
    key = _prose_key(text)
    return key if len(key) >= MIN_COPY_LENGTH else None


@rule(
    "PT-TXT-004",
    Severity.WARNING,
    "疑似复制其他项目",
    "与第 {index} 个项目「{other}」的{parts}相同，疑似复制后未按本项目修改",
    scope="department",
)
def copied_between_projects(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield a hit on each project whose use, goal or indicator rows copy an earlier project's.

    Texts are compared with numbers removed, so copies that only changed the amount count;
    rows are compared by (二级, 三级, 描述), since values are expected to differ. Only the first
    earlier project a project copies is named.
    """
    projects = dept.projects
    threshold = ctx.config.thresholds.copy_similarity
    uses = [_copy_key(p.use_of_funds) for p in projects]
    goals = [_copy_key(p.goal) for p in projects]
    rows = [_memo_row_keys(p, ctx) for p in projects]
    # The earlier projects each text and row was seen in: only one sharing something can be
    # copied from (unless a threshold of 0 makes any two tables similar), so the pairs to
    # compare are looked up instead of every earlier project being compared in turn.
    by_use: dict[str, list[int]] = {}
    by_goal: dict[str, list[int]] = {}
    by_row: dict[tuple[str, str, str], list[int]] = {}
    for j, later in enumerate(projects):
        use, goal = uses[j], goals[j]
        candidates: Iterable[int] = range(j)
        if threshold > 0:
            found: set[int] = set()
            for key in rows[j]:
                found.update(by_row.get(key, ()))
            found.update(by_use.get(use, ()) if use is not None else ())
            found.update(by_goal.get(goal, ()) if goal is not None else ())
            candidates = sorted(found)
        for i in candidates:
            parts, field = [], ""
            if use is not None and use == uses[i]:
                parts.append("资金用途")
                field = "use_of_funds"
            if goal is not None and goal == goals[i]:
                parts.append("绩效目标")
                field = field or "goal"
            shared, total = _overlap(rows[i], rows[j])
            if total and shared >= threshold * total:  # an int compares with a Decimal exactly
                parts.append(f"绩效指标（{shared}/{total} 行）")
                field = field or "indicators"
            if parts:
                earlier = projects[i]
                yield hit(
                    field, project=later, value=earlier.name, index=i + 1, other=earlier.name, parts="、".join(parts)
                )
                break
        if use is not None:
            by_use.setdefault(use, []).append(j)
        if goal is not None:
            by_goal.setdefault(goal, []).append(j)
        for key in rows[j]:
            by_row.setdefault(key, []).append(j)


def _quantity_key(ind: Indicator) -> tuple[str, str]:
    # The target is the 三级 and its value; a reworded 描述 (县区 → 县市区) promises the same.
    return label_key(ind.level3), label_key(ind.value)


def _quantity_targets(rows: list[tuple[Indicator, ParsedValue]]) -> frozenset[tuple[str, str]]:
    return frozenset(_quantity_key(i) for i, _ in rows if canonical_level2(i.level2) == QUANTITY)


def _name_keys(rows: list[tuple[Indicator, ParsedValue]]) -> frozenset[tuple[str, str]]:
    return frozenset((canonical_level2(i.level2), label_key(i.level3)) for i, _ in rows)


# How alike two 数量 descriptions must be to describe one output: a reworded description of
# the same training (县区 → 县市区) is ~0.95, two conferences named in it (钒钛大会, 推介会) ~0.4.
SAME_DESCRIPTION = 0.85


def _same_outputs(a: Project, b: Project, targets: frozenset[tuple[str, str]]) -> bool:
    """Return whether each of the 数量 ``targets`` is described alike in ``a`` and ``b``."""
    described = [{_quantity_key(r): label_key(r.description) for r in p.indicators} for p in (a, b)]
    return all(_alike(described[0].get(t, ""), described[1].get(t, "")) for t in targets)


def _alike(a: str, b: str) -> bool:
    if a == b:
        return True
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    # The cheap upper bounds first: most unlike pairs fail them.
    return matcher.real_quick_ratio() >= SAME_DESCRIPTION and matcher.ratio() >= SAME_DESCRIPTION


@rule(
    "PT-XPR-002",
    Severity.WARNING,
    "指标相同而预算不同",
    "与第 {index} 个项目「{other}」的绩效指标基本相同、数量指标完全一致（{targets}），"
    "而本项目预算数为 {budget} 万元、该项目为 {other_budget} 万元，绩效目标与资金规模不匹配",
    scope="department",
)
def same_targets_other_money(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when two projects promise the same outputs for different money.

    "The same" means every 数量 indicator has the same 三级 and value and a near-identical
    描述, and the share of (二级, 三级) the two share reaches PT-TXT-004's threshold: projects
    carried over from last year reword (受训 → 参训) but promise the same outputs. The budgets
    differ at two decimals.
    """
    projects = dept.projects
    cents = [None if p.budget is None else q2(p.budget) for p in projects]
    by_targets: dict[frozenset[tuple[str, str]], list[int]] = {}  # the earlier projects per set of targets
    for j, later in enumerate(projects):
        targets = _quantity_targets(ctx.once(substantive_rows, later))
        same = by_targets.setdefault(targets, [])
        budget = later.budget
        if targets and budget is not None:
            for i in same:
                earlier = projects[i]
                if earlier.budget is None or cents[i] == cents[j]:
                    continue
                names = [ctx.once(_name_keys, ctx.once(substantive_rows, p)) for p in (earlier, later)]
                if _similar_rows(names[0], names[1], ctx) and _same_outputs(earlier, later, targets):
                    shown = "；".join(f"{r.level3} {r.value}" for r in later.indicators if _quantity_key(r) in targets)
                    yield hit(
                        "indicators",
                        project=later,
                        value=format_amount(budget),
                        index=i + 1,
                        other=earlier.name,
                        targets=shown,
                        budget=format_amount(budget),
                        other_budget=format_amount(earlier.budget),
                    )
                    break
        same.append(j)


# --- PT-TXT-005 -----------------------------------------------------------------------------

# Reduplications that are words, not typing slips (层层分解, 家家户户, 一一对应 …).
_REDUPLICATED = frozenset(
    "常天年月日时人家户处事层步渐仅刚往纷多一个条项件点滴方面明稍慢轻紧牢实在扎认真切干净清楚白踏兢业勤恳井欣蒸津源"
    "滚熊谢看想试妈爸哥姐弟妹奶爷宝星冉济芸孜循历比频屡徐默匆悄偷恰略足整统样等级节环头道片批期次代辈世斤两"
    "了好大深久偏稳早远高满长细静"
)
# A unit name ending in these is often followed by a word starting with the same character
# (承德市市直, 河北省省级, 工信局局长), which is no slip.
_ORGAN_SUFFIXES = frozenset("市县区省局镇乡村厅部委室科所站院校处组队会司团")
_DOUBLED = re.compile(rf"([{_CJK}]{{1,4}})\1")
MISSPELLINGS: dict[str, str] = {
    "极积性": "积极性",
    "按排": "安排",
    "布署": "部署",
    "既使": "即使",
    "必竟": "毕竟",
    "再接再励": "再接再厉",
    "迫不急待": "迫不及待",
    "一愁莫展": "一筹莫展",
    "贯切": "贯彻",
    "宣染": "渲染",
    "凑效": "奏效",
    "通迅": "通讯",
    "重迭": "重叠",
    "松驰": "松弛",
    "侯选": "候选",
    "座落": "坐落",
    "追朔": "追溯",
    "气慨": "气概",
    "峻工": "竣工",
    "报帐": "报账",
    "记帐": "记账",
    "帐户": "账户",
    "部份": "部分",
    "原素": "元素",
    "幅射": "辐射",
}
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9./@:_-])(?:[a-z]{3,}|[A-Z][a-z]{2,})(?![A-Za-z0-9./@_-])")
_STRAY_SPACE = re.compile(rf"[{_CJK}]{{1,3}}[ \t\u00a0\u3000]+[{_CJK}]{{1,3}}")
_HAS_CJK = re.compile(f"[{_CJK}]")
_MISSPELT = re.compile("|".join(map(re.escape, MISSPELLINGS)))
_HAS_LATIN = re.compile("[A-Za-z]")
_HAS_BLANK = re.compile("[ \t\u00a0\u3000]")


def typos(text: str) -> list[str]:
    """Return a Chinese note per likely typo in ``text``: doubled words, misspellings, Latin words, spaces."""
    return list(_typos(text))


@lru_cache(maxsize=1 << 14)
def _typos(text: str) -> tuple[str, ...]:
    # Cached: the same indicator names, values and bases recur across a department's projects.
    # Every slip involves a Chinese character, a Latin word a letter and a stray space a blank:
    # the cheap tests skip the scans that cannot find one.
    if not _HAS_CJK.search(text):
        return ()
    notes: list[str] = []
    for m in _DOUBLED.finditer(text):
        unit = m.group(1)
        if len(unit) == 1 and (unit in _REDUPLICATED or unit in _ORGAN_SUFFIXES):
            continue
        notes.append(f"「{m.group(0)}」疑似重复输入")
    if _MISSPELT.search(text):
        notes.extend(f"「{wrong}」应为「{right}」" for wrong, right in MISSPELLINGS.items() if wrong in text)
    if _HAS_LATIN.search(text):
        notes.extend(f"中文中夹有英文单词「{m.group(0)}」" for m in _LATIN_WORD.finditer(text))
    if _HAS_BLANK.search(text):
        notes.extend(f"「{m.group(0)}」中有多余空格" for m in _STRAY_SPACE.finditer(text))
    return tuple(notes)


def _project_texts(project: Project) -> Iterator[tuple[str, Indicator | None, str]]:
    yield "name", None, project.name
    yield "use_of_funds", None, project.use_of_funds
    yield "goal", None, project.goal
    for ind in project.indicators:
        yield "level3", ind, ind.level3
        yield "description", ind, ind.description
        yield "value", ind, ind.value
        yield "basis", ind, ind.basis


def _department_texts(dept: Department) -> Iterator[tuple[str, str]]:
    yield "overall_goal", dept.overall_goal
    for sub in dept.sub_goals:
        for text in (sub.title, sub.use, sub.goal, sub.indicators):
            yield "sub_goals", text
    yield "safeguards", dept.safeguards


@rule(
    "PT-TXT-005",
    Severity.INFO,
    "疑似错别字",
    "{where}：{notes}",
    scope="department",
)
def typing_slips(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per text field with doubled words (中中), known misspellings (极积性), Latin words or stray spaces.

    Covers Part 1 and every project. A doubled character that forms a word (层层, 市市直) is
    allowed by list, so rarer reduplications may still be reported; misspellings are a fixed list.
    """
    labels = {"overall_goal": "总体绩效目标", "sub_goals": "分项绩效目标", "safeguards": "工作保障措施"}
    for field, text in _department_texts(dept):
        notes = _typos(text)
        if notes:
            yield hit(field, value=text, where=f"第一部分{labels[field]}", notes="；".join(notes))
    field_labels = {
        "name": "项目名称", "use_of_funds": "资金用途", "goal": "绩效目标", "level3": "三级指标",
        "description": "绩效指标描述", "value": "指标值", "basis": "指标值确定依据",
    }  # fmt: skip
    for project in dept.projects:
        for field, ind, text in _project_texts(project):
            notes = _typos(text)
            if notes:
                where = field_labels[field] + (f"（{ind.level3}）" if ind is not None and field != "level3" else "")
                yield hit(field, indicator=ind, project=project, value=text, where=where, notes="；".join(notes))


# --- PT-TXT-006 -----------------------------------------------------------------------------

# Words that introduce a citation rather than belong to the issuer's prefix (根据冀财建〔2024〕…).
_CITING_WORDS = re.compile(r"^(?:根据|依据|按照|依照|落实|执行|印发|转发|关于|按|据|依)+")
_POLICY_TITLE = re.compile(r"《[^》]{4,}》")


@dataclass(frozen=True)
class DocNumber:
    """A 文号 such as 冀财建〔2024〕269号: issuer prefix, year and number, plus how it was written."""

    text: str
    prefix: str
    year: int
    number: int
    brackets: str

    @property
    def standard(self) -> bool:
        """Return True when written with single 〔〕, the official style."""
        return self.brackets == "〔〕"

    @property
    def doubled(self) -> bool:
        """Return True when a bracket is doubled (冀财建[2024]]274号)."""
        return len(self.brackets) > 2

    @property
    def official(self) -> str:
        """Return the 文号 written the official way, e.g. 冀财建〔2024〕274号."""
        return f"{self.prefix}〔{self.year}〕{self.number}号"

    def same_document(self, other: DocNumber) -> bool:
        """Return True when issuer and number agree (the prefix may be cut short: 财建 ~ 冀财建)."""
        short, long = sorted((self.prefix, other.prefix), key=len)
        return self.number == other.number and len(short) >= 2 and long.endswith(short)


def doc_numbers(text: str) -> list[DocNumber]:
    """Return every 文号 cited in ``text``, whatever brackets it uses."""
    return list(_doc_numbers(text))


@lru_cache(maxsize=1 << 14)
def _doc_numbers(text: str) -> tuple[DocNumber, ...]:
    # Cached: the same 依据 recur across a department's rows and projects.
    if "号" not in text:
        return ()  # every 文号 ends in 号, and cleaning the text never makes one
    found = []
    for m in _DOC_NUMBER.finditer(clean_prose(text)):
        prefix = _CITING_WORDS.sub("", m["prefix"]) or m["prefix"]
        written = m.group(0)[len(m["prefix"]) - len(prefix) :]
        found.append(DocNumber(written, prefix, int(m["year"]), int(m["num"]), m["open"] + m["close"]))
    return tuple(found)


@rule(
    "PT-TXT-006",
    Severity.ERROR,
    "文号引用不一致",
    "项目名称引用「{name_ref}」，指标值确定依据引用「{basis_ref}」（{count} 处）：文号相同而年份不同",
    variants={
        "style": "文号写法不规范：{refs}；文号年份应使用六角括号，如「{official}」",
        "no_number": "指标值确定依据引用了文件{titles}，但没有写明文号（{count} 处）",
    },
)
def doc_number_consistency(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield an error when name and 依据 cite one 文号 with different years; info for bracket styles.

    Citations of the same issuer and number with another year are taken to be the same document
    mistyped. Brackets other than a single 〔〕 (【】, [], doubled ]]) are reported once per
    project, and a policy cited by title alone (《…通知》) without a 文号 as info. A 文号 cited in
    the name but not in the 依据, or cited with a different number, is not judged.
    """
    basis_rows = [(ind, _doc_numbers(ind.basis)) for ind, _ in ctx.once(substantive_rows, project)]
    named = _doc_numbers(project.name)
    for ref in named:
        clashes = [(ind, b) for ind, refs in basis_rows for b in refs if b.same_document(ref) and b.year != ref.year]
        if clashes:
            ind, other = clashes[0]
            yield hit(
                "basis", indicator=ind, value=ind.basis, name_ref=ref.text, basis_ref=other.text, count=len(clashes)
            )
    places: list[tuple[str, Indicator | None, str, Sequence[DocNumber]]] = [
        ("name", None, "项目名称", named),
        ("use_of_funds", None, "资金用途", _doc_numbers(project.use_of_funds)),
        ("goal", None, "绩效目标", _doc_numbers(project.goal)),
        *(("basis", ind, "指标值确定依据", refs) for ind, refs in basis_rows),
    ]
    odd: dict[str, tuple[str, Indicator | None, DocNumber]] = {}
    for field, row, where, refs in places:
        for ref in refs:
            if not ref.standard:
                doubled = "（括号重复）" if ref.doubled else ""
                odd.setdefault(f"{where}「{ref.text}」{doubled}", (field, row, ref))
    if odd:
        field, row, first = next(iter(odd.values()))
        yield hit(
            field,
            indicator=row,
            value=first.text,
            severity=Severity.INFO,
            template="style",
            refs="、".join(odd),
            official=first.official,
        )
    untitled = [ind for ind, refs in basis_rows if not refs and _POLICY_TITLE.search(ind.basis)]
    if untitled:
        titles = "、".join(dict.fromkeys(m.group(0) for i in untitled for m in _POLICY_TITLE.finditer(i.basis)))
        yield hit(
            "basis",
            indicator=untitled[0],
            value=untitled[0].basis,
            severity=Severity.INFO,
            template="no_number",
            titles=titles,
            count=len(untitled),
        )


# --- PT-XPR-001 -----------------------------------------------------------------------------


@rule(
    "PT-XPR-001",
    Severity.WARNING,
    "项目名称重复",
    "项目名称与{others}相同，同一部门不应有两个同名项目；如确为不同项目，请在名称中区分",
    scope="department",
)
def duplicate_names(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield a hit on every project whose name another project of the department also uses."""
    by_name: dict[str, list[int]] = {}
    for n, project in enumerate(dept.projects):
        key = label_key(project.name)
        if key:
            by_name.setdefault(key, []).append(n)
    for indexes in by_name.values():
        if len(indexes) < 2:
            continue
        for n in indexes:
            others = "、".join(f"第 {k + 1} 个项目（{dept.projects[k].code or '无编码'}）" for k in indexes if k != n)
            yield hit("name", project=dept.projects[n], value=dept.projects[n].name, others=others)


# --- PT-DEPT-001 / PT-DEPT-002 --------------------------------------------------------------


def _unit_key(name: str) -> str:
    return label_key(name).removesuffix("本级")


@rule(
    "PT-DEPT-001",
    Severity.WARNING,
    "部门名称不一致",
    "第一部分（标题）的单位名称「{title}」与项目表表头的单位名称「{header}」不一致",
    scope="department",
)
def department_name(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per table-header unit name that differs from the title's (a trailing 本级 ignored)."""
    title = _unit_key(dept.title_unit_name)
    if not title:
        return
    headers = dict.fromkeys(n for n in [dept.unit_name, *(p.unit_name for p in dept.projects)] if n.strip())
    for header in headers:
        if _unit_key(header) != title:
            yield hit("title_unit_name", value=dept.title_unit_name, title=dept.title_unit_name, header=header)


# Shared pieces shorter than this are words like 专项/资金, not evidence of the same item.
MIN_SHARED = 4
_SATISFACTION_TARGET = re.compile(r"满意度[^。；;]{0,12}?(\d+(?:\.\d+)?)%")


def _item_key(text: str) -> str:
    return _GENERIC_WORDS.sub("", _without_doc_numbers(clean_prose(text)))


def _pieces(text: str) -> set[str]:
    return {text[i : i + MIN_SHARED] for i in range(len(text) - MIN_SHARED + 1)}


def _satisfaction_targets(project: Project) -> list[tuple[Indicator, Decimal]]:
    found = []
    for ind in project.indicators:
        parsed = parse_value(ind.value)
        if "满意" in ind.level3 and is_satisfaction_block(ind) and parsed.is_percent and parsed.number is not None:
            found.append((ind, parsed.number))
    return found


@rule(
    "PT-DEPT-002",
    Severity.INFO,
    "第一部分与项目不对应",
    "第一部分分项绩效目标「{title}」没有对应的项目（名称无共同部分）",
    scope="department",
    variants={
        "satisfaction": "第一部分分项绩效目标「{title}」的满意度为 {target}%，"
        "而对应项目的满意度指标「{name}」为「{shown}」",
    },
)
def part1_matches_projects(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield info for Part 1 sub-goals with no matching project, or whose satisfaction target conflicts.

    A sub-goal matches a project when their names, without 文号, years and generic words, share
    four consecutive characters. When fewer than half of the sub-goals match a project, Part 1
    is organised by theme (承德), not by project, and nothing is reported. Only satisfaction
    percentages are compared; other targets in Part 1 prose are not read.
    """
    if not dept.sub_goals:
        return
    keyed = [(p, _pieces(_item_key(p.name))) for p in dept.projects]
    matches = []
    for sub in dept.sub_goals:
        title = _pieces(_item_key(sub.title))
        matches.append((sub, [p for p, pieces in keyed if not title.isdisjoint(pieces)]))
    if 2 * sum(1 for _, found in matches if found) < len(matches):
        return
    for sub, found in matches:
        if not found:
            yield hit("sub_goals", value=sub.title, title=sub.title)
            continue
        target_match = _SATISFACTION_TARGET.search(clean_prose(sub.goal + sub.indicators))
        if target_match is None:
            continue
        target = Decimal(target_match.group(1))
        for project in found:
            targets = _satisfaction_targets(project)
            if targets and all(number != target for _, number in targets):
                ind = targets[0][0]
                yield hit(
                    "value",
                    indicator=ind,
                    project=project,
                    value=ind.value,
                    template="satisfaction",
                    title=sub.title,
                    target=f"{target.normalize():f}",
                    name=ind.level3,
                    shown=ind.value,
                )
