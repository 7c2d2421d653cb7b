"""Rule configuration: indicator scheme, thresholds and severity overrides a bureau can supply.

The defaults are the Hebei conventions documented in ``docs/config-example.toml``; a bureau
passes its own TOML (or JSON) file with ``--config`` and only states what differs.
"""

from __future__ import annotations

import json
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from perfxl.errors import SourceError, os_reason
from perfxl.model import PLAN_CHECKPOINTS, Severity


class Thresholds(BaseModel):
    """Numeric limits used by the rules; every default is a Hebei convention, not a statute."""

    model_config = ConfigDict(extra="forbid")

    min_indicators: int = Field(5, description="PT-STR-011: fewer substantive 三级 → 警告")
    max_indicators: int = Field(20, description="PT-STR-011: more 三级 than this → 提示")
    money_tolerance: Decimal = Field(Decimal("0.005"), description="万元; PT-FIN-001/002, PT-CST-001")
    satisfaction_min: Decimal = Field(Decimal("85"), description="PT-SAT-001: lower target → 警告")
    satisfaction_ceiling: Decimal = Field(Decimal("99"), description="PT-SAT-001: ≥ this → 提示")
    unit_cost_low: Decimal = Field(Decimal("0.5"), description="PT-CST-003: unit×qty / budget lower bound")
    unit_cost_high: Decimal = Field(Decimal("1.05"), description="PT-CST-003: upper bound")
    copy_similarity: Decimal = Field(Decimal("0.8"), description="PT-TXT-004: share of identical rows")
    backload_points: Decimal = Field(Decimal("50"), description="PT-PLAN-006: points added 10月底→12月底")
    plan_minimums: dict[str, Decimal] = Field(
        default_factory=dict,
        description="PT-PLAN-006 early warnings, e.g. {'6月底': 40, '10月底': 80} (Sichuan 2025)",
    )
    tiny_population: int = Field(2, description="PT-SAT-003: beneficiaries at or below this")

    @field_validator("plan_minimums")
    @classmethod
    def _known_checkpoints(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        unknown = [k for k in value if k not in PLAN_CHECKPOINTS]
        if unknown:
            raise ValueError(f"没有节点 {'、'.join(unknown)}，应为 {'、'.join(PLAN_CHECKPOINTS)} 之一")
        return value


class Config(BaseModel):
    """Everything a bureau may change about validation."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["auto", "H", "C"] = Field(
        "auto", description="H = 财预〔2015〕88号 (Hebei 2025), C = 财预〔2021〕101号, auto = per table"
    )
    region_codes: list[str] = Field(
        default_factory=list, description="PT-CODE-003: the 6-digit 区划 codes this bureau expects"
    )
    check_code_checksum: bool = Field(True, description="PT-CODE-002 on/off (reverse-engineered)")
    severity_overrides: dict[str, Severity] = Field(default_factory=dict)
    disabled_rules: list[str] = Field(default_factory=list)
    satisfaction_exempt: list[str] = Field(
        default_factory=list, description="project codes exempt from the 满意度 requirement"
    )
    multi_year: list[str] = Field(default_factory=list, description="project codes whose 12月底 may stay below 100%")
    thresholds: Thresholds = Field(default_factory=Thresholds)


def load_config(path: Path | None) -> Config:
    """Return the configuration in ``path`` (TOML or JSON), or the defaults when None."""
    if path is None:
        return Config()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(str(path), f"无法读取配置文件：{os_reason(exc)}") from None
    try:
        # Notepad saves UTF-8 with a byte-order mark; TOML and JSON parsers reject it.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(str(path), "配置文件不是 UTF-8 编码（可能是 GBK）；请用记事本“另存为”并选择 UTF-8") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(str(path), f"JSON 格式错误（{exc.msg}）", line=exc.lineno) from None
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        detail = str(exc)[: at.start()].strip() if at else str(exc)
        raise SourceError(str(path), f"TOML 格式错误（{detail}）", line=int(at[1]) if at else None) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "；".join(f"{'.'.join(str(p) for p in e['loc'])}：{_problem(e)}" for e in exc.errors())
        raise SourceError(str(path), f"配置项无效：{problems}") from None


# pydantic's messages for the mistakes people make in a hand-written configuration, in Chinese.
_PROBLEMS = {
    "extra_forbidden": "不是可用的配置项（见 docs/config-example.toml）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文字（加引号）",
    "list_type": '应为列表，如 ["a", "b"]',
    "dict_type": "应为表，如 {键 = 值}",
    "model_type": "应为表，如 [thresholds]",
}


def _problem(error: ErrorDetails) -> str:
    """Return a pydantic error in Chinese: what the value should be."""
    kind = error["type"]
    if kind in ("literal_error", "enum"):
        expected = str(error.get("ctx", {}).get("expected", "")).replace(" or ", ", ").replace(", ", "、")
        return f"应为 {expected} 之一"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return _PROBLEMS.get(kind, str(error["msg"]))
