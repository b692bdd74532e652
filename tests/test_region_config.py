"""region.yaml: every problem named with file and line (before Prefect is involved), and the
commands `wijksignaal setup` prints. No Prefect server needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.configfile import ConfigError
from pipelines.region import load_region

GOOD = """\
region: test
collect_dir: collected
gemeenten:
  - {gemeente: GM0003, settings: a/GM0003/gemeente.yaml, pool: machine-a}
  - gemeente: GM0024
    settings: /data/b/GM0024/gemeente.yaml
    pool: machine-b
    queue: nacht
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "region.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_region(path)
    return [str(p) for p in err.value.problems]


def test_a_good_region_file_and_its_defaults(tmp_path):
    loaded = load_region(write(tmp_path, GOOD))
    r = loaded.region
    assert (r.region, r.concurrency, r.retries, r.retry_delay_seconds, r.timeout_minutes, r.pool) == (
        "test", 4, 2, 60, 240, "wijksignaal-region")
    assert (r.schedule.cron, r.schedule.timezone) == ("0 2 3 * *", "Europe/Amsterdam")
    assert loaded.collect_dir == (tmp_path / "collected").resolve()
    assert loaded.settings(r.gemeenten[0]) == (tmp_path / "a" / "GM0003" / "gemeente.yaml").resolve()
    assert loaded.settings(r.gemeenten[1]) == Path("/data/b/GM0024/gemeente.yaml")  # a path on machine b
    assert (r.gemeenten[1].pool, r.gemeenten[1].queue) == ("machine-b", "nacht")


def test_every_problem_with_its_line(tmp_path):
    p = write(tmp_path, """\
region: Test Regio
collect_dir: out
concurency: 2
schedule: {cron: "0 2 31 2 *", timezone: Europe/Amsterdm}
gemeenten:
  - {gemeente: GM0003, settings: a/gemeente.yaml, pool: machine-a}
  - gemeente: GM9999
    settings: b/gemeente.yaml
    pool: machine/b
  - {gemeente: GM164, settings: c/gemeente.yaml, pool: machine-a, host: b}
""")
    assert problems(p) == [
        f"{p}:1: region: Value error, must be lower-case letters, digits and '-' (at most 63), e.g. drechtsteden",
        f"{p}:4: schedule.cron: Value error, '0 2 31 2 *' is not a cron schedule that fires (five fields: minute "
        "hour day month weekday, e.g. '0 2 3 * *': 02:00 on the 3rd of every month)",
        f"{p}:4: schedule.timezone: Value error, 'Europe/Amsterdm' is not a time zone (IANA name, e.g. "
        "Europe/Amsterdam)",
        f"{p}:7: gemeenten.1.gemeente: Value error, 'GM9999' is not a gemeente of the CBS indeling "
        "(cbs_buurten_2014.csv, 403 gemeenten)",
        f"{p}:9: gemeenten.1.pool: Value error, must be letters, digits, '.', '_' or '-' (a Prefect work pool or "
        "queue name)",
        f"{p}:10: gemeenten.2.gemeente: Value error, must be GM followed by 4 digits (e.g. GM0505)",
        f"{p}:10: gemeenten.2.host: unknown key 'host'; allowed: gemeente, pool, queue, settings",
        f"{p}:3: concurency: unknown key 'concurency'; did you mean 'concurrency'?; allowed: collect_dir, "
        "concurrency, gemeenten, pool, region, retries, retry_delay_seconds, schedule, timeout_minutes",
    ]


def test_a_gemeente_twice_or_two_gemeenten_on_one_settings_file(tmp_path):
    p = write(tmp_path, GOOD + "  - {gemeente: GM0010, settings: ./a/GM0003/gemeente.yaml, pool: machine-a}\n"
                               "  - {gemeente: GM0003, settings: a/GM0003b/gemeente.yaml, pool: machine-a}\n")
    assert problems(p) == [
        f"{p}:9: gemeenten.2.settings: ./a/GM0003/gemeente.yaml is also the settings of GM0003 (gemeenten.0); "
        "each gemeente needs its own",
        f"{p}:10: gemeenten.3.gemeente: GM0003 is listed twice (also gemeenten.0)",
    ]


def test_limits_and_required_keys(tmp_path):
    p = write(tmp_path, "region: test\nconcurrency: 0\nretries: 11\ngemeenten: []\n")
    assert problems(p) == [
        f"{p}:1: collect_dir: required key is missing",
        f"{p}:2: concurrency: Input should be greater than or equal to 1",
        f"{p}:3: retries: Input should be less than or equal to 10",
        f"{p}:4: gemeenten: List should have at least 1 item after validation, not 0",
    ]


def test_no_schedule(tmp_path):
    assert load_region(write(tmp_path, GOOD + "schedule: null\n")).region.schedule is None


def test_the_cli_stops_at_a_bad_region_file_before_prefect(tmp_path, capsys, monkeypatch):
    import pipelines.deploy

    monkeypatch.setattr(pipelines.deploy, "api_url", lambda: pytest.fail("asked Prefect about a bad region file"))
    p = write(tmp_path, GOOD.replace("GM0024", "GM0000"))
    for verb in ("region", "deploy", "setup"):
        assert main([verb, "--region", str(p)]) == 1
        assert capsys.readouterr().err == (f"error: {p}:5: gemeenten.1.gemeente: Value error, 'GM0000' is not a "
                                           "gemeente of the CBS indeling (cbs_buurten_2014.csv, 403 gemeenten)\n")


def test_without_a_server_region_and_deploy_say_so(tmp_path, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    p = write(tmp_path, GOOD)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert main(["region", "--region", str(p)]) == 1
        assert capsys.readouterr().err == ("error: PREFECT_API_URL is not set: start a Prefect server and point "
                                           "PREFECT_API_URL at it (`wijksignaal setup` prints the commands)\n")
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):  # nothing listens on port 9
        assert main(["deploy", "--region", str(p)]) == 1
        assert capsys.readouterr().err == ("error: no Prefect server answers at http://127.0.0.1:9/api "
                                           "(PREFECT_API_URL): start it, or correct the address (`wijksignaal setup` "
                                           "prints the commands)\n")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["deploy", "--config", "x.yaml", "--cron", "0 2 31 2 *"])
    assert e.value.code == 2
    assert capsys.readouterr().err.endswith(
        "argument --cron: '0 2 31 2 *' is not a cron schedule that fires (five fields: minute hour day month "
        "weekday, e.g. '0 2 3 * *': 02:00 on the 3rd of every month)\n")
    with pytest.raises(SystemExit) as e:
        main(["region", "--region", "r.yaml", "--period", "2026-13"])
    assert e.value.code == 2


def test_setup_prints_a_server_with_its_database_a_worker_per_machine_and_the_deployments(tmp_path, capsys):
    p = write(tmp_path, GOOD)
    assert main(["setup", "--region", str(p), "--home", "/srv/prefect", "--host", "0.0.0.0"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "# 1. The Prefect server (on the central machine; its database is <home>/prefect.db):",
        "PREFECT_HOME=/srv/prefect PREFECT_SERVER_ANALYTICS_ENABLED=false prefect server start --host 0.0.0.0 "
        "--port 4200",
        "",
        "# 2. On every machine (server, workers, where you run wijksignaal), point Prefect at it:",
        "export PREFECT_API_URL=http://<this-machine>:4200/api",
        "",
        "# 3. A worker on each machine, for the gemeenten whose data it holds (pools are created by deploy):",
        "#    machine-a: GM0003",
        "prefect worker start --pool machine-a --type process --limit 2",
        "#    machine-b: GM0024 (queue nacht)",
        "prefect worker start --pool machine-b --type process --limit 2 --work-queue nacht",
        "#    the central machine, for the regional flow itself:",
        "prefect worker start --pool wijksignaal-region --type process --limit 1",
        "",
        "# 4. The deployments (again after changing region.yaml):",
        f"wijksignaal deploy --region {p}",
        "",
        "# 5. A regional run now (or wait for the schedule 0 2 3 * *, Europe/Amsterdam):",
        f"wijksignaal region --region {p} [--period YYYY-MM]",
    ]


def test_setup_for_one_gemeente_expands_the_home_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["setup"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (f"PREFECT_HOME={tmp_path}/.wijksignaal/prefect PREFECT_SERVER_ANALYTICS_ENABLED=false prefect "
                      "server start --host 127.0.0.1 --port 4200")
    assert "prefect worker start --pool wijksignaal --type process --limit 2" in out
    assert "wijksignaal deploy --config gemeente.yaml --pool wijksignaal --cron '0 2 3 * *'" in out


def test_setup_for_a_region_of_several_machines_says_a_loopback_server_is_out_of_their_reach(tmp_path, capsys):
    p = write(tmp_path, GOOD)
    assert main(["setup", "--region", str(p)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("prefect server start --host 127.0.0.1 --port 4200")
    assert out[2] == ("#    (workers on other machines reach a server on 127.0.0.1 only through a tunnel: give --host "
                      "0.0.0.0, or this machine's address, and let only the region's machines through)")
