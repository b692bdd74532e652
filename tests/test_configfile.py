import pytest

from pipelines.configfile import ConfigError
from pipelines.settings import load_settings


def test_errors_name_file_and_line(tmp_path):
    p = tmp_path / "gemeente.yaml"
    p.write_text("gemeente: Hengelo\nperiod: 2026-13\nsources_dir: s\nwork_dir: w\ncolour: blue\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(p)
    got = [str(x) for x in e.value.problems]
    assert got[0] == f"{p}:1: gemeente: Value error, must be GM followed by 4 digits (e.g. GM0164), or NL"
    assert got[1] == f"{p}:2: period: Value error, must be YYYY-MM, e.g. 2026-10"
    assert got[2].startswith(f"{p}:5: colour: unknown key 'colour'; allowed: achterstand_lookback_months, config_dir,")


def test_invalid_yaml_names_the_line(tmp_path):
    p = tmp_path / "gemeente.yaml"
    p.write_text("gemeente: GM0164\nperiod: [2026\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(p)
    assert str(e.value).startswith(f"{p}:3: invalid YAML")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path / "nope.yaml")
    assert str(e.value) == f"{tmp_path / 'nope.yaml'}: file not found"
