"""The report's size is bounded: a release of several gemeenten (the country) has a report file per
gemeente and an overview, and the trends hold at most HISTORY_PERIODS earlier periods."""

import json

import pytest
from test_report import embedded
from twogemeenten import OTHER, two_gemeenten

from pipelines import geography
from pipelines.publish import PublishRefused, publish
from pipelines.publish.report import render_reports
from pipelines.publish.reportdata import HISTORY_PERIODS, NOT_PUBLISHED, cell, earlier_tables, nearest_periods
from pipelines.publish.tablescsv import read_tables, tables_csv
from privacy import ledger

GEMEENTEN = ("GM0164", OTHER)


@pytest.fixture(scope="module")
def split(release):
    tables, audit = two_gemeenten(release["release"].folder)
    files = render_reports(tables, audit, {"buurten": geography.buurten("NL"), "history": []})
    return {"tables": tables, "audit": audit, "files": files, "models": {n: embedded(h) for n, h in files.items()}}


def test_a_release_of_several_gemeenten_has_a_report_per_gemeente_and_an_overview(split):
    models, tables = split["models"], split["tables"]
    assert sorted(models) == ["report-GM0164.html", f"report-{OTHER}.html", "report.html"]
    overview = models["report.html"]
    assert overview["codes"] == list(GEMEENTEN) and overview["files"] == {g: f"report-{g}.html" for g in GEMEENTEN}
    assert overview["map"] == {} and overview["similar"] == {"profiles": {}, "peers": {}}
    geo = geography.buurten("NL")
    for gm in GEMEENTEN:
        m = models[f"report-{gm}.html"]
        own = geo[geo.gemeentecode == gm]
        assert m["codes"] == sorted({gm, *own.wijkcode, *own.buurtcode}) and set(m["areas"]) == set(m["codes"])
        assert list(m["map"]) == [gm] and set(m["map"][gm]["paths"]) == set(own.buurtcode)
        assert set(m["similar"]["peers"]) <= set(own.buurtcode)
        assert all(p in own.buurtcode.values for peers in m["similar"]["peers"].values()
                   for t in peers.values() for p, _ in t)
        assert m["overview"] == {"file": "report.html", "name": "Nederland"}
    # every published cell is in its gemeente's file, and the gemeenten's own cells in the overview too
    for t, lv, a, c, v, s in zip(tables.table, tables.level, tables.area_code, tables.category, tables.value,
                                 tables.status):
        expected = int(v) if s == "published" else None
        gm = a if lv == "gemeente" else geo.gemeentecode[(geo.wijkcode == a) | (geo.buurtcode == a)].iloc[0]
        assert cell(models[f"report-{gm}.html"], "2026-10", t, a, c) == expected, (t, a, c)
        other = models[f"report-{next(g for g in GEMEENTEN if g != gm)}.html"]
        assert cell(other, "2026-10", t, a, c) is NOT_PUBLISHED
        assert cell(overview, "2026-10", t, a, c) == (expected if lv == "gemeente" else NOT_PUBLISHED)


def test_each_gemeentes_file_is_as_small_as_its_gemeente(split):
    """The split is what bounds the size: no gemeente's file carries the other gemeente's areas."""
    files = split["files"]
    assert b"BU0173" not in files["report-GM0164.html"].encode() and b"BU0164" not in files[
        f"report-{OTHER}.html"].encode()
    assert b"BU0" not in files["report.html"].encode()  # the overview: gemeenten only


def test_a_release_of_one_gemeente_keeps_its_one_report(release):
    tables = read_tables(release["release"].folder / "tables.csv")
    audit = json.loads((release["release"].folder / "audit.json").read_text(encoding="utf-8"))
    files = render_reports(tables, audit, {"buurten": geography.buurten("GM0164"), "history": []})
    assert list(files) == ["report.html"]
    assert files["report.html"].encode("utf-8") == (release["release"].folder / "report.html").read_bytes()


def test_the_trends_take_the_nearest_periods_at_most():
    months = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 11)]
    assert nearest_periods(months[:-1], "2026-10") == months[-13:-1]  # monthly: the year before
    assert len(nearest_periods(months, "2026-10")) == HISTORY_PERIODS == 12
    # a month published after the next one (a monitor waiting for its outcomes) shows that one too
    assert nearest_periods(months, "2026-09") == months[-13:-2] + ["2026-10"]
    assert nearest_periods(["2026-08"], "2026-10") == ["2026-08"]
    assert nearest_periods([], "2026-10") == []


def test_earlier_tables_reads_only_the_nearest_periods(release, tmp_path):
    tables = read_tables(release["release"].folder / "tables.csv")
    months = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 10)]
    for p in months:
        rid = f"GM0164-{p}-test000000"
        (tmp_path / "releases" / rid).mkdir(parents=True)
        (tmp_path / "releases" / rid / "tables.csv").write_bytes(tables_csv(tables.assign(period=p)))
        ledger.append(tmp_path / ledger.LEDGER, {"release_id": rid, "gemeente": "GM0164", "period": p, "files": {},
                                                 "dpia": {}, "selections": []})
    got = [t.period.iloc[0] for t in earlier_tables(tmp_path, "GM0164", "2026-10")]
    assert got == months[-12:]


def test_every_report_file_of_the_release_is_recorded_and_scanned(split, release, tmp_path):
    tables, audit = split["tables"], split["audit"]
    context = {"buurten": geography.buurten("NL")}
    rel = publish(tmp_path / "w", "NL-2026-10-test", tables, audit, context)
    names = {"audit.json", "report.html", "report-GM0164.html", f"report-{OTHER}.html", "tables.csv", "tables.xlsx"}
    assert set(rel.files) == names and set(ledger.entries(tmp_path / "w")[-1]["files"]) == names
    assert ledger.verify(tmp_path / "w") == []
    again = publish(tmp_path / "v", "NL-2026-10-test", tables, audit, context)
    assert again.files == rel.files  # deterministic: same tables, same bytes in every file
    # a BSN-like number in a buurt name of the second gemeente is found in that gemeente's file
    leaky = tables.copy()
    leaky.loc[leaky.area_code == leaky.area_code[leaky.area_code.str.startswith("BU0173")].iloc[0],
              "area_name"] = "Buurt 123456782"
    with pytest.raises(PublishRefused, match=rf"report-{OTHER}.html \(1\)"):
        publish(tmp_path / "x", "NL-2026-10-leak", leaky, audit, context)
    assert list((tmp_path / "x" / "releases").iterdir()) == []
