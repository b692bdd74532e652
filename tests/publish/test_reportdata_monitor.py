"""The report's monitor section (reportdata.monitor_model) reads published cells only, and its figures
are the release's own month's, also when a later month was published before it (a month's monitor
is published after its outcomes are in, when the next month's release exists already)."""

from pipelines.publish.reportdata import monitor_model

AREAS = {"GM0164": {"level": "gemeente", "name": "Hengelo"}, "WK016400": {"level": "wijk", "name": "Wijk 00"}}


def _month(cases, households, picked):
    return {"monitor:signalen": {"GM0164": {"totaal": cases}},
            "monitor:opvolging": {"GM0164": {"totaal": cases, "opgepakt": picked}, "WK016400": {"totaal": None}},
            "stapeling": {"GM0164": {"totaal": households}}}


def test_the_figures_are_those_of_the_release_month_not_the_newest():
    values = {"2026-09": _month(50, 10_000, 20), "2026-10": _month(80, 10_000, None)}
    m = monitor_model(values, ["2026-09", "2026-10"], "2026-09", AREAS, {"tables": {}, "monitor": {"fixed_by": "r"}})
    assert (m["cases"], m["households"], m["per_1000"]) == (50, 10_000, 5.0)
    assert [t["per_1000"] for t in m["trend"]] == [5.0, 8.0]
    picked = next(r for r in m["rows"] if r["label"] == "opgepakt")
    assert (picked["value"], picked["share"], picked["trend"]) == (20, 40.0, [40.0, None])  # None: suppressed
