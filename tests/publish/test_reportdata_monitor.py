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


def test_a_gemeente_whose_monitor_is_withheld_gets_a_sentence_saying_so_not_a_table_of_suppressed_cells():
    """A release of several gemeenten may withhold the monitor of some (audit.json
    disclosure.monitor_withheld): their page said nothing of it and showed every figure as "·",
    which reads as suppressed cells of a published monitor; none is in the release."""
    from pathlib import Path

    from jinja2 import Environment, FileSystemLoader

    values = {"2026-10": _month(80, 10_000, 20)}
    audit = {"tables": {}, "monitor": {"fixed_by": "r"}, "disclosure": {"monitor_withheld": {"gemeenten": ["GM0164"]}}}
    assert monitor_model(values, ["2026-10"], "2026-10", AREAS, audit) == {"withheld": True}
    assert monitor_model(values, ["2026-10"], "2026-10", AREAS, {**audit, "disclosure": {}})["cases"] == 80
    import pipelines.publish.report as report

    env = Environment(loader=FileSystemLoader(Path(report.__file__).parent / "templates"))
    source = env.loader.get_source(env, "report.html.j2")[0]
    withheld = source[source.index("{% if m and m.withheld %}"):source.index("{% elif m %}")]
    html = env.from_string(withheld + "{% endif %}").render(m={"withheld": True}, model={"period": "2026-10"},
                                                            scope={"name": "Hengelo"})
    assert "De monitor van Hengelo over 2026-10 is in deze publicatie niet opgenomen" in html
    assert "disclosure.monitor_withheld" in html and "·" not in html
