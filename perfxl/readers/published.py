"""Read a published 部门预算绩效文本 (plain text) into the model.

The document has an optional Part 1 (部门整体绩效目标: 总体绩效目标, 分项绩效目标, 工作保障措施)
and a Part 2 with one ``N.<项目名称>绩效目标表`` per project. Two text layouts are understood:

* Word export: each table row is one line with tab-separated cells; merged cells leave empty
  columns and a long row may wrap onto further lines.
* PDF extraction: no tabs; one or several cells per line separated by spaces, long cells wrapped
  over several lines at the column width. Its indicator table is cut into cells by a small
  dynamic programme (``_flow_indicators``).

Fields are found by their labels (compared with ``label_key``), so stray spaces inside labels do
not matter. Whatever the reader cannot place raises ``SourceError`` naming the block and the
line: a project is never returned half-read.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from perfxl import paths
from perfxl.errors import SourceError, os_reason
from perfxl.model import (
    Department,
    Finding,
    Indicator,
    Location,
    Project,
    ReadResult,
    Severity,
    SubGoal,
)
from perfxl.textnorm import display_width, label_key, squash
from perfxl.values import ValueKind, parse_amount, parse_percent, parse_value


@dataclass(frozen=True, slots=True)
class _Line:
    """One line of the file: its 1-based number and its text without the line break."""

    no: int
    text: str


def _flex(label: str) -> str:
    """Return a regex for ``label`` that allows whitespace (layout artefacts) between characters."""
    return r"\s*".join(re.escape(ch) for ch in label)


_NUM = r"[-+]?\d[\d,，]*(?:\.\d+)?"
_TITLE_RE = re.compile(r"^\s*(?P<unit>\S.*?)\s*(?P<year>\d{4})\s*年\s*度?\s*部门预算绩效文本\s*$")
_PROJECT_TITLE_RE = re.compile(r"^\s*\d{1,3}\s*[.．、]\s*(?P<rest>\S.*)$")
_TITLE_END = "绩效目标表"
_UNIT_LINE_RE = re.compile(r"^\s*(?P<code>\d{6})\s+(?P<name>\S.*?)(?:\s*单\s*位\s*[:：]\s*万\s*元)?\s*$")
_HEADER_RE = re.compile(
    rf"\A\s*{_flex('项目编')}\s*(?P<label>[码号])\s*(?P<code>\S*?)\s*{_flex('项目名称')}\s*(?P<name>.*)\Z",
    re.S,
)
_BUDGET_RE = re.compile(
    rf"\A\s*{_flex('预算规模及资金用途')}"
    rf"\s*{_flex('预算数')}\s*(?P<budget>{_NUM})?(?:\s*万元)?"
    rf"\s*{_flex('其中')}\s*[:：]?\s*{_flex('财政资金')}\s*(?P<fiscal>{_NUM})?(?:\s*万元)?"
    rf"\s*{_flex('其他资金')}[ \t]*(?P<other>{_NUM})?(?:[ \t]*万元)?"
)
_PLAN_LABEL_RE = re.compile(rf"\A\s*{_flex('资金支出计划')}(?:\s*[(（]\s*[%％]\s*[)）])?")
_PLAN_TOKEN_RE = re.compile(r"(?P<month>\d{1,2})\s*月\s*底|(?P<pct>\d+(?:\.\d+)?)\s*[%％]?|(?P<other>\S+)")
_CHECKPOINT_RE = re.compile(r"^(\d{1,2})月底$")
_MONTHS = (3, 6, 10, 12)
_GOAL_LABEL_RE = re.compile(r"\A\s*绩\s*效\s*目\s*标(?:\s*[:：]|(?=[\t ]|\n|\Z))")
_ITEM_NUMBER_RE = re.compile(r"^\d+\s*[.、．]")
_SUB_ITEM_RE = re.compile(r"^\s*[（(]\s*[一二三四五六七八九十]+\s*[)）]\s*(?P<title>.*)$")
_SUB_GOAL_RE = re.compile(r"^\s*(?:项目)?绩\s*效\s*目\s*标\s*[:：]\s*(?P<rest>.*)$")
_SUB_INDICATORS_RE = re.compile(r"^\s*(?:项目)?绩\s*效\s*指\s*标\s*[:：]\s*(?P<rest>.*)$")
_YEAR_RE = re.compile(r"(20\d{2})\s*年")
_CODE_YEAR_RE = re.compile(r"^\d{6}(\d{2})P")
# Control characters other than tab, line breaks and form feed never occur in exported text.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")

_H1, _H2, _H3 = "一、总体绩效目标", "二、分项绩效目标", "三、工作保障措施"
_SUBTITLES = frozenset({"总体绩效目标", "分项绩效目标", "工作保障措施"})
_PART2 = frozenset({"第二部分", "第二部分预算项目绩效目标"})
_SENTENCE_END = ("。", "！", "？", "；", "!", "?", ";")

_TABLE_LABELS = ("一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据")
_TABLE_KEY = "".join(_TABLE_LABELS)
_FIELDS = ("level1", "level2", "level3", "description", "value", "basis")
# Printed column widths of the PDF indicator table, in display width (CJK = 2).
_WIDTHS = (10, 10, 10, 24, 10, 14)
_ROW_START = 6

_LEVEL1 = frozenset({"产出指标", "效益指标", "满意度指标", "成本指标"})
_LEVEL2 = frozenset(
    {
        "数量指标",
        "质量指标",
        "时效指标",
        "成本指标",
        "经济效益指标",
        "社会效益指标",
        "生态效益指标",
        "环境效益指标",
        "可持续影响指标",
        "服务对象满意度指标",
        "社会公众或服务对象满意度指标",
        "社会公众满意度指标",
        "满意度指标",
        "经济成本指标",
        "社会成本指标",
        "生态环境成本指标",
    }
)
_LEVEL_NAMES = _LEVEL1 | _LEVEL2
_LEVEL1_NAMES = _LEVEL1 | {name.removesuffix("指标") for name in _LEVEL1}
_LEVEL2_NAMES = _LEVEL2 | {name.removesuffix("指标") for name in _LEVEL2}


def read_published(path: Path) -> ReadResult:
    """Return the department read from the published text file at ``path``, or raise SourceError."""
    name = paths.shown(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(name, "文件不存在") from None
    except OSError as exc:
        raise SourceError(name, f"无法读取文件：{os_reason(exc)}") from None
    return parse_published(_decode(data, name), name)


def parse_published(text: str, file: str, places: Sequence[str] | None = None) -> ReadResult:
    """Return the department read from the published document ``text``; ``file`` names it in messages.

    ``places`` describes each line of ``text`` (for a text rendered from a Word or PDF document, where a
    line number would point nowhere); locations and messages then name those places instead.
    """
    return _Reader(text, file, places).read()


def _decode(data: bytes, file: str) -> str:
    """Return ``data`` decoded as UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise SourceError(file, "不是文本文件（含有二进制数据或无法按 UTF-8/GB18030 解码），请提供导出的绩效文本")


def _is_header(text: str) -> bool:
    """Return True for the 项目编码 (or 项目编号) line that opens a project table."""
    return label_key(text).startswith(("项目编码", "项目编号"))


def _checkpoint(cell: str) -> int | None:
    """Return the month of a spending-plan label such as ``3 月底``, or None for other text."""
    match = _CHECKPOINT_RE.match(label_key(cell))
    return int(match.group(1)) if match else None


def _percent(cell: str) -> Decimal | None:
    """Return the percentage in a spending-plan cell such as ``100%``, or None if it is not one."""
    return parse_percent(cell) if cell.strip() else None


def _looks_like_value(text: str) -> bool:
    """Return True when ``text`` reads like a 指标值: a number with unit, a deadline or a graded word."""
    return parse_value(text).kind is not ValueKind.TEXT


def _prose(pieces: Sequence[tuple[int, str]], wrapped: bool) -> str:
    """Return text pieces as paragraphs; in wrapped (PDF) text a line continues until a sentence ends."""
    paragraphs: list[str] = []
    for _, raw in pieces:
        text = squash(raw)
        if not text:
            continue
        if wrapped and paragraphs and not paragraphs[-1].endswith(_SENTENCE_END):
            paragraphs[-1] += text
        else:
            paragraphs.append(text)
    return "\n".join(paragraphs)


def _numbered(pieces: Sequence[tuple[int, str]], wrapped: bool) -> str:
    """Return goal text; in wrapped text a new line starts only at a numbered item (``1.``, ``2.``)."""
    items: list[str] = []
    for _, raw in pieces:
        text = squash(raw)
        if not text:
            continue
        if wrapped and items and not _ITEM_NUMBER_RE.match(text):
            items[-1] += text
        else:
            items.append(text)
    return "\n".join(items)


class _Stream:
    """Lines joined by newlines, so a regex can match a label broken across lines, mapped back to lines."""

    def __init__(self, lines: Sequence[_Line]) -> None:
        self.lines = list(lines)
        self.starts: list[int] = []
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line.text) + 1
        self.text = "\n".join(line.text for line in self.lines)

    def line_at(self, offset: int) -> int:
        """Return the file line number holding character ``offset``."""
        return self.lines[max(bisect.bisect_right(self.starts, offset) - 1, 0)].no

    def pieces(self, start: int) -> list[tuple[int, str]]:
        """Return the non-blank cells of ``text[start:]`` with their line numbers, in reading order."""
        found: list[tuple[int, str]] = []
        for line, line_start in zip(self.lines, self.starts, strict=True):
            lo, hi = max(start, line_start), line_start + len(line.text)
            if lo >= hi:
                continue
            found.extend((line.no, cell.strip()) for cell in self.text[lo:hi].split("\t") if cell.strip())
        return found


@dataclass(frozen=True, slots=True)
class _Block:
    """One project table: its title and the non-blank lines after the title up to the next one."""

    ordinal: int
    title: str
    title_line: int
    lines: list[_Line]


@dataclass(frozen=True, slots=True)
class _Frag:
    """A space-separated fragment of a PDF table line."""

    text: str
    line: int
    first: bool  # the fragment begins its line


@dataclass(frozen=True, slots=True)
class _Cell:
    """A table cell: its column and its text, one (line, text) segment per printed line."""

    column: int
    segments: tuple[tuple[int, str], ...]

    @property
    def raw(self) -> str:
        """Return the cell's text as printed, its lines joined without separator."""
        return "".join(text for _, text in self.segments)

    @property
    def line(self) -> int:
        """Return the line where the cell starts."""
        return self.segments[0][0]


class _Reader:
    """One parse of one document."""

    def __init__(self, text: str, file: str, places: Sequence[str] | None = None) -> None:
        self.file = file
        self.places = places
        if _CONTROL_RE.search(text):
            raise SourceError(file, "不是文本文件（含有二进制数据），请提供导出的绩效文本")
        text = text.removeprefix("\ufeff").replace("\f", " ").replace("\v", " ")
        if not text.strip():
            raise SourceError(file, "文件为空")
        self.lines = [_Line(n, t) for n, t in enumerate(re.split(r"\r\n|\r|\n", text), start=1)]
        # Word exports put table cells between tabs; PDF text has none and wraps every paragraph.
        self.wrapped = "\t" not in text
        self.findings: list[Finding] = []

    def read(self) -> ReadResult:
        """Return the department and the reader's own findings."""
        blocks = self._blocks()
        part1_end = blocks[0].title_line - 1 if blocks else len(self.lines)
        dept = Department(source_file=self.file)
        has_part1 = self._read_part1(dept, part1_end)
        if not blocks and not has_part1:
            raise SourceError(
                self.file,
                "未找到预算项目绩效目标表（“N.…绩效目标表”），也没有部门整体绩效目标（第一部分），"
                "不像是部门预算绩效文本",
            )
        self._check_orphan_headers(blocks)
        for block in blocks:
            dept.projects.append(_ProjectReader(self, block).read())
        if dept.projects:
            first = dept.projects[0]
            dept.unit_code, dept.unit_name = first.unit_code, first.unit_name
            for field in ("unit_code", "unit_name"):
                if field in first.sources:
                    dept.sources[field] = first.sources[field]
        self._read_title(dept, part1_end)
        if not dept.title_unit_name:
            self._find_unit_in_part1(dept, part1_end)
        if dept.year is None:
            dept.year = self._cited_year(dept)
        return ReadResult(department=dept, findings=self.findings)

    def loc(self, line: int) -> Location:
        """Return the location of ``line`` in this file."""
        if self.places is not None:
            return Location(file=self.file, place=self.places[line - 1])
        return Location(file=self.file, line=line)

    def at(self, line: int) -> str:
        """Return ``line`` as messages name it: ``第 N 行``, or its place in the document."""
        return f"第 {line} 行" if self.places is None else self.places[line - 1]

    def error(self, message: str, line: int) -> SourceError:
        """Return the SourceError for ``message`` at ``line``."""
        if self.places is None:
            return SourceError(self.file, message, line=line)
        return SourceError(self.file, message, place=self.places[line - 1])

    # --- document structure -------------------------------------------------------------

    def _nonblank(self, start: int, end: int) -> list[_Line]:
        """Return the non-blank lines with 0-based indexes in [start, end)."""
        return [line for line in self.lines[start:end] if line.text.strip()]

    def _blocks(self) -> list[_Block]:
        """Return the project tables: a ``N.…绩效目标表`` title followed by a unit or 项目编码 line."""
        starts: list[tuple[int, str, int]] = []  # (title index, title, first index after the title)
        index = 0
        while index < len(self.lines):
            found = self._title_at(index)
            if found is None:
                index += 1
                continue
            title, after = found
            starts.append((index, title, after))
            index = after
        blocks: list[_Block] = []
        for n, (start, title, after) in enumerate(starts):
            end = starts[n + 1][0] if n + 1 < len(starts) else len(self.lines)
            blocks.append(_Block(n + 1, title, self.lines[start].no, self._nonblank(after, end)))
        return blocks

    def _title_at(self, index: int) -> tuple[str, int] | None:
        """Return (title, index of the line after it) if a project title starts at line ``index``."""
        match = _PROJECT_TITLE_RE.match(self.lines[index].text)
        if not match or "\t" in self.lines[index].text:
            return None
        parts = [match.group("rest")]
        cursor = index + 1
        # A PDF title wraps over up to three more lines before its closing 绩效目标表.
        while not squash("".join(parts)).endswith(_TITLE_END) and len(parts) < 4:
            while cursor < len(self.lines) and not self.lines[cursor].text.strip():
                cursor += 1
            if cursor >= len(self.lines):
                return None
            parts.append(self.lines[cursor].text)
            cursor += 1
        title = squash("".join(squash(p) for p in parts))
        if not title.endswith(_TITLE_END):
            return None
        nxt = cursor
        while nxt < len(self.lines) and not self.lines[nxt].text.strip():
            nxt += 1
        if nxt >= len(self.lines):
            return None
        following = self.lines[nxt].text
        if not (_UNIT_LINE_RE.match(following) or _is_header(following)):
            return None
        return title, cursor

    def _check_orphan_headers(self, blocks: list[_Block]) -> None:
        """Raise if a 项目编码 line stands outside every recognised project table."""
        owned = {self._header_line(block) for block in blocks}
        for line in self.lines:
            if _is_header(line.text) and line.no not in owned:
                raise self.error(
                    "这个项目表（“项目编码”行）前没有可识别的标题（“N.…绩效目标表”），无法确定它属于哪个项目", line.no
                )

    @staticmethod
    def _header_line(block: _Block) -> int | None:
        for line in block.lines[:3]:
            if _is_header(line.text):
                return line.no
        return None

    # --- Part 1 and the title -----------------------------------------------------------

    def _heading(self, key: str, start: int, end: int) -> int | None:
        """Return the index of the first line in [start, end) whose label is exactly ``key``."""
        for index in range(start, end):
            if label_key(self.lines[index].text) == key:
                return index
        return None

    def _section(self, start: int, end: int) -> list[_Line]:
        """Return the non-blank lines after the heading at ``start``, without a repeated subtitle."""
        lines = self._nonblank(start + 1, end)
        if lines and label_key(lines[0].text) in _SUBTITLES:
            lines = lines[1:]
        return lines

    def _read_part1(self, dept: Department, end: int) -> bool:
        """Fill Part 1 (总体/分项绩效目标, 工作保障措施) and return whether any of it was found."""
        h1 = self._heading(_H1, 0, end)
        h2 = self._heading(_H2, 0 if h1 is None else h1 + 1, end)
        h3 = self._heading(_H3, max(h for h in (h1, h2, -1) if h is not None) + 1, end)
        heads = [h for h in (h1, h2, h3) if h is not None]
        if not heads:
            return False
        stop = next((i for i in range(heads[-1] + 1, end) if label_key(self.lines[i].text) in _PART2), end)

        def until(head: int) -> int:
            later = [h for h in heads if h > head]
            return later[0] if later else stop

        if h1 is not None:
            lines = self._section(h1, until(h1))
            dept.overall_goal = _prose([(x.no, x.text) for x in lines], self.wrapped)
            dept.sources["overall_goal"] = self.loc(lines[0].no if lines else self.lines[h1].no)
        if h2 is not None:
            dept.sub_goals = self._sub_goals(self._section(h2, until(h2)))
            dept.sources["sub_goals"] = self.loc(self.lines[h2].no)
        if h3 is not None:
            lines = self._section(h3, until(h3))
            dept.safeguards = _prose([(x.no, x.text) for x in lines], self.wrapped)
            dept.sources["safeguards"] = self.loc(lines[0].no if lines else self.lines[h3].no)
        return True

    def _sub_goals(self, lines: list[_Line]) -> list[SubGoal]:
        """Return the ``（一）title`` items of 分项绩效目标 with their use, goal and indicator texts."""
        items: list[tuple[_Line, dict[str, list[tuple[int, str]]]]] = []
        current = "use"
        for line in lines:
            item = _SUB_ITEM_RE.match(line.text)
            goal = _SUB_GOAL_RE.match(line.text)
            indicators = _SUB_INDICATORS_RE.match(line.text)
            if item:
                items.append((line, {"use": [], "goal": [], "indicators": []}))
                current = "use"
                continue
            if not items:
                continue  # text before the first item has no field to go to
            if goal:
                current = "goal"
                items[-1][1][current].append((line.no, goal.group("rest")))
            elif indicators:
                current = "indicators"
                items[-1][1][current].append((line.no, indicators.group("rest")))
            else:
                items[-1][1][current].append((line.no, line.text))
        result: list[SubGoal] = []
        for head, fields in items:
            match = _SUB_ITEM_RE.match(head.text)
            sub = SubGoal(title=squash(match.group("title")) if match else "")
            sub.sources["title"] = self.loc(head.no)
            for name, pieces in fields.items():
                setattr(sub, name, _prose(pieces, self.wrapped))
                if pieces:
                    sub.sources[name] = self.loc(pieces[0][0])
            result.append(sub)
        return result

    def _read_title(self, dept: Department, end: int) -> None:
        """Fill the year and unit name from a title such as ``承德市…局 2025 年部门预算绩效文本``."""
        for line in self.lines[:end]:
            match = _TITLE_RE.match(line.text)
            if match:
                dept.year = int(match.group("year"))
                dept.title_unit_name = squash(match.group("unit"))
                dept.sources["year"] = dept.sources["title_unit_name"] = self.loc(line.no)
                return

    def _find_unit_in_part1(self, dept: Department, end: int) -> None:
        """Fill ``title_unit_name`` with the first ``<region>…局`` named in Part 1's text."""
        region = re.match(r"^(.+?[省市县区旗])", dept.unit_name)
        if not region:
            return
        lines = self._nonblank(0, end)
        texts = [squash(line.text) for line in lines]
        starts = [0]
        for text in texts:
            starts.append(starts[-1] + len(text))
        # Wrapped PDF lines are joined without separator so a name broken at a line end still matches.
        match = re.search(re.escape(region.group(1)) + r"[\u4e00-\u9fff]{1,15}?局", "".join(texts))
        if match:
            dept.title_unit_name = match.group(0)
            line = lines[bisect.bisect_right(starts, match.start()) - 1]
            dept.sources["title_unit_name"] = self.loc(line.no)

    def _cited_year(self, dept: Department) -> int | None:
        """Return the year cited most often by project codes, goals and indicator values."""
        years: Counter[int] = Counter()
        for project in dept.projects:
            code = _CODE_YEAR_RE.match(project.code)
            if code:
                years[2000 + int(code.group(1))] += 1
            texts = [project.goal, *(i.value for i in project.indicators)]
            years.update(int(y) for text in texts for y in _YEAR_RE.findall(text))
        if not years:
            texts = [dept.overall_goal, dept.safeguards, *(s.goal + s.indicators for s in dept.sub_goals)]
            years.update(int(y) for text in texts for y in _YEAR_RE.findall(text))
        if not years:
            return None
        return max(years.items(), key=lambda item: (item[1], item[0]))[0]


class _ProjectReader:
    """Reads one project table (one ``_Block``) in either layout."""

    def __init__(self, reader: _Reader, block: _Block) -> None:
        self.reader = reader
        self.file = reader.file
        self.block = block
        self.project = Project()
        self.tab = False  # Word layout (tab-separated cells) rather than PDF text

    def fail(self, part: str, line: int, reason: str) -> SourceError:
        """Return the error for a part of this table that cannot be read."""
        name = self.project.name or self.block.title.removesuffix(_TITLE_END)
        return self.reader.error(
            f"第 {self.block.ordinal} 个项目「{name}」的{part}（{self.reader.at(line)}起）无法识别：{reason}", line
        )

    def read(self) -> Project:
        """Return the project, every field with its source line."""
        lines = self.block.lines
        p = self.project
        pos = 0
        if pos < len(lines) and (unit := _UNIT_LINE_RE.match(lines[pos].text)):
            p.unit_code, p.unit_name = unit.group("code"), squash(unit.group("name"))
            p.sources["unit_code"] = p.sources["unit_name"] = self.reader.loc(lines[pos].no)
            pos += 1
        if pos < len(lines) and label_key(lines[pos].text) == "单位:万元":
            pos += 1
        if pos >= len(lines) or not _is_header(lines[pos].text):
            line = lines[pos].no if pos < len(lines) else self.block.title_line
            raise self.fail("项目表", line, "标题和单位之后应是“项目编码”行")
        self.tab = "\t" in lines[pos].text
        budget = self._find(pos + 1, lambda k: k.startswith("预算规模"), "未找到“预算规模及资金用途”栏")
        plan = self._find(budget + 1, lambda k: k.startswith("资金支出计"), "未找到“资金支出计划（%）”栏")
        goal = self._find_goal(plan + 1)
        table = self._find(goal + 1, lambda k: k.startswith("一级指标"), "未找到指标表表头“一级指标…”")
        self._header(lines[pos:budget])
        self._budget(lines[budget:plan])
        self._plan(lines[plan:goal])
        self._goal(lines[goal:table])
        self._indicators(lines[table:])
        return p

    def _find(self, start: int, test: Callable[[str], bool], missing: str) -> int:
        """Return the index of the first line from ``start`` whose label passes ``test``."""
        for index in range(start, len(self.block.lines)):
            if test(label_key(self.block.lines[index].text)):
                return index
        raise self.fail("项目表", self.block.lines[start - 1].no, missing)

    def _find_goal(self, start: int) -> int:
        """Return the index of the 绩效目标 line (its label may share the line with the text)."""
        for index in range(start, len(self.block.lines)):
            if _GOAL_LABEL_RE.match(self.block.lines[index].text):
                return index
        raise self.fail("项目表", self.block.lines[start - 1].no, "未找到“绩效目标”栏")

    # --- header, money, plan, goal ------------------------------------------------------

    def _header(self, lines: list[_Line]) -> None:
        p, stream = self.project, _Stream(lines)
        match = _HEADER_RE.match(stream.text)
        if not match:
            raise self.fail("表头", lines[0].no, "应为“项目编码 … 项目名称 …”")
        if match.group("label") != "码":
            p.label_variants.append("项目编号")
        p.code = match.group("code")
        p.sources["code"] = self.reader.loc(stream.line_at(match.start("code")))
        pieces = stream.pieces(match.start("name"))
        p.name = squash("".join(squash(text) for _, text in pieces))
        raw = "\n".join(text for _, text in pieces)
        p.sources["name"] = self.reader.loc(pieces[0][0] if pieces else stream.line_at(match.start("name")))
        if raw != p.name:
            p.raw["name"] = raw

    def _budget(self, lines: list[_Line]) -> None:
        p, stream = self.project, _Stream(lines)
        match = _BUDGET_RE.match(stream.text)
        if not match:
            raise self.fail("预算规模及资金用途栏", lines[0].no, "应依次为“预算数”“其中：财政资金”“其他资金”")
        for field, group in (("budget", "budget"), ("fiscal_funds", "fiscal"), ("other_funds", "other")):
            text = match.group(group)
            setattr(p, field, parse_amount(text))
            if text is not None:
                p.raw[field] = text
                p.sources[field] = self.reader.loc(stream.line_at(match.start(group)))
        if "other_funds" not in p.sources:
            p.sources["other_funds"] = self.reader.loc(stream.line_at(match.end() - 1))
        for field in ("budget", "fiscal_funds"):
            p.sources.setdefault(field, p.sources["other_funds"])
        pieces = stream.pieces(match.end())
        p.use_of_funds = "".join(squash(t) for _, t in pieces) if self.reader.wrapped else _prose(pieces, False)
        p.sources["use_of_funds"] = self.reader.loc(pieces[0][0] if pieces else lines[-1].no)
        raw = "\n".join(t for _, t in pieces)
        if raw != p.use_of_funds:
            p.raw["use_of_funds"] = raw

    def _plan(self, lines: list[_Line]) -> None:
        p = self.project
        p.raw["spending_plan"] = "\n".join(line.text for line in lines)
        if self.tab:
            self._tab_plan(lines)
        else:
            self._flow_plan(lines)

    def _tab_plan(self, lines: list[_Line]) -> None:
        """Read a Word plan: labels at some columns, each covering up to the next label's column.

        Values sit below their label (or right of it on a wrapped line such as ``12 月底→→100%``);
        merged cells leave the empty columns in between.
        """
        p = self.project
        owners: list[tuple[int, int]] = []  # (column, checkpoint index) of the latest label row
        for n, line in enumerate(lines):
            cells = [cell.strip() for cell in line.text.split("\t")]
            first = 1 if n == 0 else 0  # the row label 资金支出计划（%） itself
            labels = [
                (col, self._checkpoint_index(cell, line.no))
                for col, cell in enumerate(cells)
                if col >= first and _checkpoint(cell) is not None
            ]
            if labels:
                owners = labels
                p.sources.setdefault("spending_plan", self.reader.loc(line.no))
            for col, cell in enumerate(cells):
                if col < first or not cell or _checkpoint(cell) is not None:
                    continue
                owner = next((idx for c, idx in reversed(owners) if c <= col), None)
                if owner is None:
                    raise self.fail("资金支出计划", line.no, f"数值「{cell}」上方没有对应的时间节点")
                value = _percent(cell)
                if value is None:
                    raise self.fail("资金支出计划", line.no, f"「{cell}」不是百分比")
                if p.spending_plan[owner] is not None:
                    raise self.fail("资金支出计划", line.no, f"{_MONTHS[owner]}月底有两个数值")
                p.spending_plan[owner] = value
        p.sources.setdefault("spending_plan", self.reader.loc(lines[0].no))

    def _checkpoint_index(self, cell: str, line: int) -> int:
        """Return 0–3 for the labels 3月底, 6月底, 10月底, 12月底; other months cannot be placed."""
        month = _checkpoint(cell)
        if month not in _MONTHS:
            raise self.fail("资金支出计划", line, f"未知的时间节点「{cell}」（应为3月底、6月底、10月底、12月底）")
        return _MONTHS.index(month)

    def _flow_plan(self, lines: list[_Line]) -> None:
        """Read a PDF plan: a line of checkpoint labels, then the values in the same order."""
        p, stream = self.project, _Stream(lines)
        label = _PLAN_LABEL_RE.match(stream.text)
        if not label:
            raise self.fail("资金支出计划", lines[0].no, "应以“资金支出计划（%）”开头")
        months: list[tuple[int, int]] = []  # (checkpoint index, line)
        values: list[tuple[int, Decimal]] = []  # (line, percent)
        for token in _PLAN_TOKEN_RE.finditer(stream.text, label.end()):
            line = stream.line_at(token.start())
            if token.group("month"):
                months.append((self._checkpoint_index(token.group(0), line), line))
                p.sources.setdefault("spending_plan", self.reader.loc(line))
            elif token.group("pct"):
                values.append((line, Decimal(token.group("pct"))))
            else:
                raise self.fail("资金支出计划", line, f"「{token.group(0)}」既不是时间节点也不是百分比")
        p.sources.setdefault("spending_plan", self.reader.loc(lines[0].no))
        if values and not months:
            raise self.fail("资金支出计划", values[0][0], "有数值但没有时间节点（3月底、6月底、10月底、12月底）")
        order = [idx for idx, _ in months]
        if order != sorted(set(order)):
            raise self.fail("资金支出计划", months[0][1], "时间节点重复或顺序不对")
        if not values:
            return
        if len(values) != len(months):
            where = p.sources["spending_plan"]
            self.reader.findings.append(
                Finding(
                    code="PT-STR-001",
                    severity=Severity.ERROR,
                    message=(
                        f"资金支出计划有 {len(months)} 个时间节点却有 {len(values)} 个数值，"
                        "无法确定缺的是哪一个，已按未填处理，请核对原表"
                    ),
                    unit_code=p.unit_code,
                    project_code=p.code,
                    project_name=p.name,
                    field="spending_plan",
                    value=p.raw["spending_plan"],
                    file=self.file,
                    line=where.line,
                    place=where.place,
                )
            )
            return
        for (idx, _), (_, value) in zip(months, values, strict=True):
            p.spending_plan[idx] = value

    def _goal(self, lines: list[_Line]) -> None:
        p, stream = self.project, _Stream(lines)
        label = _GOAL_LABEL_RE.match(stream.text)
        assert label is not None  # _find_goal chose this line by the same pattern
        pieces = stream.pieces(label.end())
        p.goal = _numbered(pieces, self.reader.wrapped)
        p.sources["goal"] = self.reader.loc(pieces[0][0] if pieces else lines[0].no)
        raw = "\n".join(t for _, t in pieces)
        if raw != p.goal:
            p.raw["goal"] = raw

    # --- indicator table ----------------------------------------------------------------

    def _indicators(self, lines: list[_Line]) -> None:
        p = self.project
        p.sources["indicators"] = self.reader.loc(lines[0].no)
        if self.tab:
            header = [cell for cell in lines[0].text.split("\t") if cell.strip()]
            used = 1
        else:
            header, used = self._flow_header(lines)
        keys = [label_key(cell) for cell in header]
        if "".join(keys) != _TABLE_KEY:
            extra = [squash(cell) for cell, key in zip(header, keys, strict=True) if key not in _TABLE_LABELS]
            shown = " ".join(squash(cell) for cell in header)
            reason = f"表头为「{shown}」，不是标准的六列（{'、'.join(_TABLE_LABELS)}）"
            if extra:
                reason += f"，含有无法识别的列：{'、'.join(extra)}"
            raise self.fail("指标表", lines[0].no, reason)
        body = lines[used:]
        if self.tab:
            rows = self._tab_rows(body, lines[0].no, len(lines[0].text.split("\t")))
        else:
            rows = self._flow_rows(body, lines[0].no)
        p.indicators = self._inherit(rows, lines[0].no)

    def _flow_header(self, lines: list[_Line]) -> tuple[list[str], int]:
        """Return the header cells of a PDF table, which may wrap, and how many lines they take."""
        cells: list[str] = []
        for used, line in enumerate(lines, start=1):
            cells.extend(line.text.split())
            key = label_key("".join(cells))
            if key == _TABLE_KEY or not _TABLE_KEY.startswith(key):
                return cells, used
        return cells, len(lines)

    def _tab_rows(self, lines: list[_Line], table_line: int, fields: int) -> list[dict[int, _Cell]]:
        """Return the rows of a Word table: six tab-separated cells each, like the header's ``fields``."""
        rows: list[dict[int, _Cell]] = []
        for line in lines:
            cells = line.text.split("\t")
            # Word may end every row with a tab; the header shows whether this export does, and a
            # row with one cell fewer would otherwise pass for a row with an empty last cell.
            if len(cells) != fields or (fields == 7 and cells[6].strip()):
                where = self.reader.at(line.no)
                raise self.fail("指标表", table_line, f"{where}的单元格数与表头不一致，不是六列的指标行")
            rows.append(
                {
                    col: _Cell(col, ((line.no, cell.strip()),))
                    for col, cell in enumerate(cells)
                    if col >= 2 or cell.strip()
                }
            )
        return rows

    def _flow_rows(self, lines: list[_Line], table_line: int) -> list[dict[int, _Cell]]:
        """Cut a PDF table into rows of cells; see ``_flow_indicators``."""
        frags = [_Frag(text, line.no, n == 0) for line in lines for n, text in enumerate(line.text.split())]
        rows, reason = _flow_indicators(frags)
        if rows is None:
            raise self.fail("指标表", table_line, reason)
        return [{cell.column: cell for cell in row} for row in rows]

    def _inherit(self, rows: list[dict[int, _Cell]], table_line: int) -> list[Indicator]:
        """Return indicators with blank 一级/二级 cells filled from the row above (merged cells)."""
        indicators: list[Indicator] = []
        above: dict[int, _Cell] = {}
        for row in rows:
            if 0 in row:
                above = {0: row[0]}
            if 1 in row:
                above = {**above, 1: row[1]}
            for col in (0, 1):
                if col not in row:
                    if col not in above:
                        line = min(cell.line for cell in row.values())
                        where, label = self.reader.at(line), _TABLE_LABELS[col]
                        raise self.fail("指标表", table_line, f"{where}的{label}为空，上方也没有可沿用的值")
                    row = {**row, col: above[col]}
            ind = Indicator()
            for col, field in enumerate(_FIELDS):
                cell = row.get(col)
                if cell is None:
                    continue
                setattr(ind, field, squash(cell.raw))
                ind.sources[field] = self.reader.loc(cell.line)
            ind.value_raw = row[4].raw.strip() if 4 in row else ""
            indicators.append(ind)
        return indicators


# Extraction inserts a space where the font changes (CJK ↔ digits), and the printed width of digits
# is only roughly half a CJK character: "124.39 万元" fills a 10-wide column although it counts 11
# with its space, and "预计 2025" (9 with the space, 8 without) was wrapped before "年". So a line
# fits when it does without the inserted spaces, and is full when it comes within 1 with them.


def _seg_fits(text: str, width: int) -> bool:
    """Return True when a printed line of a cell fits its column."""
    return display_width(squash(text)) <= width


def _seg_full(text: str, width: int) -> bool:
    """Return True when a printed line is full, so the cell may continue on the next line."""
    return display_width(text) >= width - 1


def _cell_cost(column: int, segments: list[list[_Frag]], following: _Frag | None) -> int | None:
    """Return the cost of a candidate cell, or None when it breaks a hard constraint."""
    text = squash("".join(" ".join(f.text for f in seg) for seg in segments))
    if column == 0 and text not in _LEVEL1_NAMES:
        return None
    if column == 1 and text not in _LEVEL2_NAMES:
        return None
    if column <= 1:
        return 0
    cost = 0
    if column == 4 and not _looks_like_value(text):
        cost += 2
    if text in _LEVEL_NAMES:
        cost += 3
    last = " ".join(f.text for f in segments[-1])
    width = _WIDTHS[column]
    if following is not None and following.first and _seg_full(last, width) and _seg_fits(following.text, width):
        cost += 1
    return cost


def _flow_indicators(frags: list[_Frag]) -> tuple[list[list[_Cell]] | None, str]:
    """Return the rows of cells of a PDF indicator table, or (None, why and where cutting failed).

    The table is a stream of fragments (the space-separated pieces of each line, with their line
    numbers). It is cut into rows ``[一级] [二级] 三级 描述 指标值 依据`` (一级 and 二级 only where the
    form's merged cell starts) by a forward dynamic programme over (fragment index, next column).
    A cell is a run of fragments; each of its printed lines must fit the column width, every line
    but the last must be full (a cell wraps only when its line is full), and 一级/二级 must be names
    from the closed vocabularies, and a row starts on a new line. Among the cuts meeting these hard
    constraints the cheapest wins: a 指标值 that does not look like a value costs 2, a level name
    (…指标) in another column costs 3, and a full line that ends a cell although the next line's
    first fragment would have fitted costs 1. When two different cuts tie for the cheapest, the
    reader cannot know which is meant and gives up rather than guess.
    """
    n = len(frags)
    best: list[list[int | None]] = [[None] * 7 for _ in range(n + 1)]
    ways: list[list[int]] = [[0] * 7 for _ in range(n + 1)]  # optimal cuts reaching a state, capped at 2
    back: dict[tuple[int, int], tuple[int, int, _Cell | None]] = {}

    def relax(i: int, column: int, cost: int, prev: tuple[int, int, _Cell | None]) -> None:
        current = best[i][column]
        count = ways[prev[0]][prev[1]]
        if current is None or cost < current:
            best[i][column] = cost
            ways[i][column] = count
            back[(i, column)] = prev
        elif cost == current:
            ways[i][column] = min(2, ways[i][column] + count)

    best[0][_ROW_START] = 0
    ways[0][_ROW_START] = 1
    reached = 0
    for i in range(n + 1):
        start_cost = best[i][_ROW_START]
        # Rows are stacked vertically, so a row never starts on the line its predecessor ends on.
        if start_cost is not None and i < n and frags[i].first:
            for column in (0,) if i == 0 else (0, 1, 2):
                relax(i, column, start_cost, (i, _ROW_START, None))
        for column in range(6):
            cost = best[i][column]
            if cost is None:
                continue
            reached = max(reached, i)
            nxt = _ROW_START if column == 5 else column + 1
            for j, candidate, extra in _candidates(frags, i, column):
                relax(j, nxt, cost + extra, (i, column, candidate))
    if best[n][_ROW_START] is None:
        line = frags[min(reached, n - 1)].line if frags else 0
        return None, f"第 {line} 行附近无法按六列（{'、'.join(_TABLE_LABELS)}）切分"
    rows: list[list[_Cell]] = []
    row: list[_Cell] = []
    state = (n, _ROW_START)
    ambiguous: int | None = None
    while state != (0, _ROW_START):
        if ways[state[0]][state[1]] > 1:
            ambiguous = state[0]  # the earliest such state closes the ambiguous stretch
        i, column, cell = back[state]
        if cell is not None:
            row.append(cell)
        else:  # the step out of a row start: the row is complete
            rows.append(row[::-1])
            row = []
        state = (i, column)
    rows.reverse()
    if ambiguous is not None:
        line = frags[max(ambiguous - 1, 0)].line
        return None, f"第 {line} 行之前的单元格有多种同样合理的切分方式，无法确定各单元格的归属"
    return rows, ""


def _candidates(frags: list[_Frag], i: int, column: int) -> Iterator[tuple[int, _Cell, int]]:
    """Yield (end, cell, cost) for every admissible cell of ``column`` starting at fragment ``i``."""
    width = _WIDTHS[column]
    segments: list[list[_Frag]] = []
    for j in range(i, len(frags)):
        frag = frags[j]
        if j > i and frag.first:
            if not _seg_full(" ".join(f.text for f in segments[-1]), width):
                return
            segments.append([frag])
        elif segments:
            segments[-1].append(frag)
        else:
            segments.append([frag])
        if not _seg_fits(" ".join(f.text for f in segments[-1]), width):
            return
        cost = _cell_cost(column, segments, frags[j + 1] if j + 1 < len(frags) else None)
        if cost is not None:
            cell = _Cell(column, tuple((seg[0].line, " ".join(f.text for f in seg)) for seg in segments))
            yield j + 1, cell, cost
