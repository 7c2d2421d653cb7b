"""The 指标值 grammar: a table of spellings seen in real documents, plus property tests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfxl.values import ValueKind, find_money, parse_amount, parse_percent, parse_value

K = ValueKind

# (raw as printed, kind, operator, number, unit)
VALUE_TABLE: list[tuple[str, ValueKind, str | None, str | None, str]] = [
    ("≥50家", K.NUMERIC, "≥", "50", "家"),
    ("100%", K.NUMERIC, "=", "100", "%"),
    ("≤3.58万元", K.NUMERIC, "≤", "3.58", "万元"),
    ("≥1万人", K.NUMERIC, "≥", "10000", "人"),
    ("1 人", K.NUMERIC, "=", "1", "人"),
    ("≥8 小时", K.NUMERIC, "≥", "8", "小时"),
    ("≥90", K.NUMERIC, "≥", "90", ""),
    ("≧95%", K.NUMERIC, "≥", "95", "%"),
    (">=95%", K.NUMERIC, "≥", "95", "%"),
    ("<=5%", K.NUMERIC, "≤", "5", "%"),
    ("＞１０次", K.NUMERIC, ">", "10", "次"),
    ("≥ 95 ％", K.NUMERIC, "≥", "95", "%"),
    ("不低于90%", K.NUMERIC, "≥", "90", "%"),
    ("不少于3场", K.NUMERIC, "≥", "3", "场"),
    ("不超过5万元", K.NUMERIC, "≤", "5", "万元"),
    ("大于等于98%", K.NUMERIC, "≥", "98", "%"),
    ("90%以上", K.NUMERIC, "≥", "90", "%"),
    ("360人以上", K.NUMERIC, "≥", "360", "人"),
    ("5%以内", K.NUMERIC, "≤", "5", "%"),
    ("达到6%", K.NUMERIC, "≥", "6", "%"),
    ("═100%", K.NUMERIC, "=", "100", "%"),
    ("≤400元/人", K.NUMERIC, "≤", "400", "元/人"),
    ("1,200平方米", K.NUMERIC, "=", "1200", "平方米"),
    ("一次", K.NUMERIC, "=", "1", "次"),
    ("十二个月", K.NUMERIC, "=", "12", "个月"),
    ("95百分比", K.NUMERIC, "=", "95", "%"),
    ("2025年12月底前完成", K.DEADLINE, None, None, ""),
    ("2025 年 12 月底之前支 出", K.DEADLINE, None, None, ""),
    ("2025年底之前支出", K.DEADLINE, None, None, ""),
    ("预计2025年年底前完成", K.DEADLINE, None, None, ""),
    ("2025.01-2025.12", K.DEADLINE, None, None, ""),
    ("202501-202512", K.DEADLINE, None, None, ""),
    ("季后 50 日前", K.RELATIVE_DEADLINE, None, None, ""),
    ("月后30日前", K.RELATIVE_DEADLINE, None, None, ""),
    ("10个工作日内", K.RELATIVE_DEADLINE, None, None, ""),
    ("每半年一次", K.FREQUENCY, None, None, ""),
    ("每月", K.FREQUENCY, None, None, ""),
    ("合格", K.GRADED, None, None, ""),
    ("是", K.GRADED, None, None, ""),
    ("有所提高", K.VAGUE, None, None, ""),
    ("较上年增加", K.VAGUE, None, None, ""),
    ("不低于上年", K.VAGUE, None, None, ""),
    ("持续推动", K.VAGUE, None, None, ""),
    ("长期", K.VAGUE, None, None, ""),
    ("不涉及", K.PLACEHOLDER, None, None, ""),
    ("", K.PLACEHOLDER, None, None, ""),
    ("无", K.PLACEHOLDER, None, None, ""),
    ("前十名", K.TEXT, None, None, ""),
    ("公益性服务", K.TEXT, None, None, ""),
    ("≥95%(含)", K.TEXT, None, None, ""),
    # OCR noise for ≥ in scanned documents, and estimates: read, and marked (see below).
    ("二95%", K.NUMERIC, "≥", "95", "%"),
    ("%=95%", K.NUMERIC, "≥", "95", "%"),
    ("二十人", K.NUMERIC, "=", "20", "人"),
    ("100人左右", K.NUMERIC, "=", "100", "人"),
    ("约100人次", K.NUMERIC, "=", "100", "人次"),
    ("大约50%", K.NUMERIC, "=", "50", "%"),
    ("约定", K.TEXT, None, None, ""),
    ("左右", K.TEXT, None, None, ""),
]


@pytest.mark.parametrize(
    ("raw", "noise", "hedge"),
    [("二95%", "二", ""), ("%=95%", "%=", ""), ("≥95%", "", ""), ("100人左右", "", "左右"), ("约100人次", "", "约")],
)
def test_ocr_noise_and_estimates_are_marked(raw: str, noise: str, hedge: str) -> None:
    parsed = parse_value(raw)
    assert (parsed.noise, parsed.hedge) == (noise, hedge)


@pytest.mark.parametrize(("raw", "kind", "operator", "number", "unit"), VALUE_TABLE)
def test_value_table(raw: str, kind: ValueKind, operator: str | None, number: str | None, unit: str) -> None:
    parsed = parse_value(raw)
    assert parsed.kind is kind
    assert parsed.operator == operator
    assert parsed.number == (None if number is None else Decimal(number))
    assert parsed.unit == unit


@pytest.mark.parametrize(("raw", "explicit"), [("≥50家", True), ("50家", False), ("90%以上", True), ("100%", False)])
def test_operator_explicit(raw: str, explicit: bool) -> None:
    assert parse_value(raw).operator_explicit is explicit


@pytest.mark.parametrize(
    ("raw", "year", "month"),
    [("2025年12月底前完成", 2025, 12), ("2025 年 6 月底", 2025, 6), ("2024年底前", 2024, 12), ("年底前", None, 12)],
)
def test_deadline_fields(raw: str, year: int | None, month: int) -> None:
    parsed = parse_value(raw)
    assert (parsed.year, parsed.month) == (year, month)


def test_raw_text_is_kept_normalised() -> None:
    assert parse_value(" ≥ 95 ％ ").text == "≥95%"
    assert parse_value("公益性服务").text == "公益性服务"


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("3.58", "3.58"),
        ("40万元", "40"),
        ("15 万元", "15"),
        ("400元", "0.04"),
        ("1.2亿元", "12000"),
        ("１２.８４", "12.84"),
        ("1,234.50", "1234.50"),
        (" 7.21 ", "7.21"),
        ("四十", None),
        ("", None),
        ("≤3万元", None),
        ("#REF!", None),
    ],
)
def test_parse_amount(raw: str, amount: str | None) -> None:
    assert parse_amount(raw) == (None if amount is None else Decimal(amount))


def test_find_money_in_goal_text() -> None:
    text = "1. 2025 年底之前支出 12.48 万元用于清理拖欠企业账款，人均 400 元"
    assert [(m.amount, m.text) for m in find_money(text)] == [
        (Decimal("12.48"), "12.48万元"),
        (Decimal("0.04"), "400元"),
    ]


@pytest.mark.parametrize(("raw", "pct"), [("30%", "30"), ("100％", "100"), ("12.5", "12.5"), ("三成", None)])
def test_parse_percent(raw: str, pct: str | None) -> None:
    assert parse_percent(raw) == (None if pct is None else Decimal(pct))


@given(st.text(max_size=40))
def test_parser_never_raises(raw: str) -> None:
    parsed = parse_value(raw)
    assert isinstance(parsed.kind, ValueKind)
    assert parse_amount(raw) is None or isinstance(parse_amount(raw), Decimal)


_OPS = st.sampled_from(["≥", "≤", ">=", "<=", "不低于", "不超过", "＞", "＜", "="])
_UNITS = st.sampled_from(["%", "家", "人", "次", "万元", "元/人", "课时", "平方米"])


@given(_OPS, st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False), _UNITS, st.booleans())
def test_numeric_values_round_trip(op: str, number: Decimal, unit: str, spaces: bool) -> None:
    sep = " " if spaces else ""
    parsed = parse_value(f"{op}{sep}{number}{sep}{unit}")
    assert parsed.kind is ValueKind.NUMERIC
    assert parsed.number == number
    assert parsed.unit == unit
    assert parsed.operator_explicit
