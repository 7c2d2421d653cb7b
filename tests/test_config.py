"""Configuration: the documented example equals the defaults, and bad files say why in Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.config import Config, load_config
from perfxl.errors import SourceError
from perfxl.model import Severity

DOCS = Path(__file__).parent.parent / "docs"
EXAMPLES = Path(__file__).parent.parent / "examples"
runner = CliRunner()


def test_documented_example_is_exactly_the_defaults() -> None:
    assert load_config(DOCS / "config-example.toml") == Config()


def test_documented_example_names_every_threshold() -> None:
    text = (DOCS / "config-example.toml").read_text(encoding="utf-8")
    for name in Config.model_fields["thresholds"].default_factory().model_dump():  # type: ignore[misc]
        assert name in text


def test_partial_override(tmp_path: Path) -> None:
    path = tmp_path / "bureau.toml"
    path.write_text(
        'scheme = "C"\n[severity_overrides]\n"PT-CODE-002" = "warning"\n[thresholds]\nsatisfaction_min = 90\n',
        encoding="utf-8",
    )
    cfg = load_config(path)
    assert cfg.scheme == "C"
    assert cfg.severity_overrides == {"PT-CODE-002": Severity.WARNING}
    assert cfg.thresholds.satisfaction_min == 90
    assert cfg.thresholds.min_indicators == Config().thresholds.min_indicators


def test_json_config(tmp_path: Path) -> None:
    path = tmp_path / "bureau.json"
    path.write_text('{"region_codes": ["130800"]}', encoding="utf-8")
    assert load_config(path).region_codes == ["130800"]


BAD_CONFIGS = [
    ("bad.toml", b'scheme = "X"', "scheme：应为 'auto'、'H'、'C' 之一"),
    ("bad.toml", b"unknown_key = 1", "unknown_key：不是可用的配置项"),
    ("bad.toml", b"this is not toml", "bad.toml 第 1 行：TOML 格式错误"),
    ("bad.toml", b'[thresholds]\nmin_indicators = "many"', "thresholds.min_indicators：应为整数"),
    ("bad.toml", b"check_code_checksum = 3", "check_code_checksum：应为 true 或 false"),
    (
        "bad.toml",
        '[thresholds.plan_minimums]\n"六月底" = 40'.encode(),
        "没有节点 六月底，应为 3月底、6月底、10月底、12月底 之一",
    ),
    (
        "bad.toml",
        'scheme = "C"\n[severity_overrides]\n"PT-PLAN-006" = "严重"'.encode(),
        "severity_overrides.PT-PLAN-006：应为 'error'、'warning'、'info' 之一",
    ),
    ("gbk.toml", 'multi_year = ["项目"]'.encode("gbk"), "不是 UTF-8 编码"),
    ("bad.json", b'{"scheme": "C",}', "bad.json 第 1 行：JSON 格式错误"),
]


@pytest.mark.parametrize(("name", "content", "needle"), BAD_CONFIGS)
def test_bad_config_is_a_chinese_error_naming_the_file(tmp_path: Path, name: str, content: bytes, needle: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "记事本.toml"
    path.write_bytes('multi_year = ["13080125P000015100048"]\n'.encode("utf-8-sig"))
    assert load_config(path).multi_year == ["13080125P000015100048"]


@pytest.mark.parametrize(
    ("content", "codes"),
    [
        ('disabled_rules = ["PT-PLAN-06"]', "PT-PLAN-06"),
        ('disabled_rules = ["PT-PLAN-006"]\n[severity_overrides]\n"PT-STR-999" = "info"', "PT-STR-999"),
    ],
)
def test_a_rule_code_no_rule_has_is_refused(tmp_path: Path, content: str, codes: str) -> None:
    path = tmp_path / "单位.toml"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["validate", str(EXAMPLES / "zunhua-2025.txt"), "--config", str(path)])
    assert result.exit_code == 2
    assert f"没有规则 {codes}" in result.stderr.replace("\n", "")


def test_a_known_rule_code_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "单位.toml"
    path.write_text('disabled_rules = ["PT-PLAN-006"]', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(EXAMPLES / "zunhua-2025.txt"), "-f", "json", "--config", str(path)])
    assert result.exit_code == 1
    assert "PT-PLAN-006" not in {f["code"] for f in json.loads(result.stdout)["findings"]}


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="无法读取配置文件"):
        load_config(tmp_path / "nope.toml")
