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


def test_a_file_read_again_is_parsed_anew_when_edited_and_each_reader_gets_its_own_copy(tmp_path):
    """read_yaml keeps parsed documents by their text (a run reads its configuration in every
    stage): an edited file, even one of the same size and modification time, is read as edited,
    a file made invalid fails again, and no reader sees what another changed in its data."""
    import os

    from pipelines.configfile import read_yaml

    p = tmp_path / "x.yaml"
    p.write_text("a: [1, 2]\nb: x\n", encoding="utf-8")
    first = read_yaml(p)
    first.data["a"].append(3)
    assert read_yaml(p).data == {"a": [1, 2], "b": "x"}
    stat = p.stat()
    p.write_text("a: [1, 5]\nb: y\n", encoding="utf-8")
    os.utime(p, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = read_yaml(p)
    assert again.data == {"a": [1, 5], "b": "y"} and again.line_of(("b",)) == 2
    p.write_text("a: [1\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ConfigError, match="invalid YAML"):
            read_yaml(p)
