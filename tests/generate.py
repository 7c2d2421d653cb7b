"""Realistic synthetic departments for the consolidation tests and benchmark.

Every project is one of the 23 real projects of the two seed documents (with its real goal,
use of funds and indicator table), given a new well-formed 项目编码 in a Hebei region, a new
unit and a new amount; departments hold 5–40 of them. A project's name is the seed's under the
new unit's name (a seed picked twice in one department becomes its 第二批 …), so, as in real
departments, names do not repeat across units. The workbooks are written by perfxl's
own writer, so they are exactly what staff get from the template.
"""

from __future__ import annotations

import random
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from perfxl.model import Department, Project
from perfxl.readers import read_source
from perfxl.rules.codes import check_character
from perfxl.writers.workbook import write_department_workbook

EXAMPLES = Path(__file__).parent.parent / "examples"
REGIONS: dict[str, str] = {
    "130800": "承德市", "130281": "遵化市", "130100": "石家庄市", "130200": "唐山市", "130600": "保定市",
    "131000": "廊坊市", "130900": "沧州市", "130500": "邢台市",
}  # fmt: skip
BUREAUS: tuple[str, ...] = (
    "教育局", "卫生健康委员会", "农业农村局", "交通运输局", "民政局", "水利局", "自然资源和规划局", "生态环境局",
    "文化广电和旅游局", "工业和信息化局", "住房和城乡建设局", "人力资源和社会保障局", "科学技术局",
    "市场监督管理局", "应急管理局", "商务局",
)  # fmt: skip


# Subordinate units (二级单位) of a bureau, after the bureau itself (本级).
SUBORDINATES: tuple[str, ...] = (
    "本级", "机关服务中心", "信息中心", "综合行政执法队", "事务服务中心", "监测站", "培训中心", "档案室",
    "研究所", "宣传中心", "后勤服务中心",
)  # fmt: skip
BATCHES = "一二三四五六七八九十"


@lru_cache(maxsize=1)
def seed_departments() -> tuple[Department, ...]:
    """Return the two seed documents' departments, read once."""
    return tuple(read_source(path).department for path in sorted(EXAMPLES.glob("*.txt")))


def project_code(region: str, rng: random.Random) -> str:
    """Return a well-formed 2025 项目编码 of ``region`` with a correct check character."""
    body = f"{region}25P{rng.randrange(10**11):011d}"
    return body + check_character(body)


def unit_of(serial: int) -> tuple[str, str]:
    """Return the (区划, 单位名称) of the ``serial``-th unit; different serials give different units."""
    region = list(REGIONS)[serial % len(REGIONS)]
    rest = serial // len(REGIONS)
    bureau = BUREAUS[rest % len(BUREAUS)]
    rest //= len(BUREAUS)
    level = SUBORDINATES[rest % len(SUBORDINATES)]
    extra = rest // len(SUBORDINATES)
    return region, f"{REGIONS[region]}{bureau}{level}{extra + 1 if extra else ''}"


def department(rng: random.Random, *, projects: int | None = None, serial: int | None = None) -> Department:
    """Return a synthetic department of 5–40 seed projects (or ``projects``) with new codes and amounts.

    With ``serial`` the unit is the ``serial``-th of ``unit_of``, so a run of serials has no two
    units alike; without it the unit is drawn at random.
    """
    seeds = seed_departments()
    base = rng.choice(seeds)
    region = rng.choice(list(REGIONS))
    unit_code = f"{rng.randint(100, 999)}{rng.randint(0, 999):03d}"
    unit_name = f"{REGIONS[region]}{rng.choice(BUREAUS)}本级"
    if serial is not None:
        region, unit_name = unit_of(serial)
    pool = [p for d in seeds for p in d.projects]
    count = projects if projects is not None else max(5, min(40, round(rng.gauss(15, 7))))
    short = unit_name.removesuffix("本级")
    chosen: list[Project] = []
    picked: dict[str, int] = {}
    for _ in range(count):
        p = rng.choice(pool).model_copy(deep=True)
        picked[p.name] = times = picked.get(p.name, 0) + 1
        name = short + p.name.removeprefix("承德市").removeprefix("遵化市")
        p.name = name if times == 1 else f"{name}（第{BATCHES[times - 1]}批）"
        budget = Decimal(rng.randint(100, 5_000_000)) / 100
        p.code = project_code(region, rng)
        p.unit_code, p.unit_name = unit_code, unit_name
        p.budget, p.fiscal_funds, p.other_funds = budget, budget, None
        p.sources = {}
        chosen.append(p)
    return Department(
        unit_code=unit_code,
        unit_name=unit_name,
        title_unit_name=short,
        year=2025,
        overall_goal=base.overall_goal,
        sub_goals=[s.model_copy(deep=True) for s in base.sub_goals],
        safeguards=base.safeguards,
        projects=chosen,
    )


def write_departments(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """Return the paths of ``count`` synthetic department workbooks, units ``seed`` … ``seed + count - 1``."""
    rng = random.Random(seed)
    return [
        write_department_workbook(department(rng, serial=seed + n), folder / f"dept_{n:05d}.xlsx") for n in range(count)
    ]
