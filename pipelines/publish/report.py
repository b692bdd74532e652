"""The wijkteam report (report.html): Dutch, self-contained, opens offline from a USB stick.

Everything on the page comes from the published tables (reportdata.py reads tables.csv
of this release and of earlier periods), plus the public CBS geography for the map. The
data, the styles and the script that draws charts and the map are inline; a
Content-Security-Policy forbids the page any network request. A release of several
gemeenten (the country) has a report file per gemeente and report.html as their overview
(reportdata.report_files); the files link to each other by relative names, so the release
folder opens from a USB stick as one.
"""

from __future__ import annotations

from importlib import resources

import jinja2
import pandas as pd

from pipelines.publish.geomap import ATTRIBUTION
from pipelines.publish.reportdata import OVERVIEW, build_model, report_files


def _nl(x: float) -> str:
    """A share or rate with the Dutch decimal comma (9,7)."""
    return f"{x:.1f}".replace(".", ",")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("pipelines.publish").joinpath("templates", name).read_text(encoding="utf-8")
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["nl"] = _nl
    return env


def render_reports(tables: pd.DataFrame, audit: dict, context: dict) -> dict[str, str]:
    """The report's files, name -> HTML (report.html, and for a release of several gemeenten one
    file per gemeente). `tables`: this release's tables.csv as read back (tablescsv.read_tables);
    context: `buurten` (CBS geography of the gemeente) and `history` (earlier periods' tables)."""
    model = build_model(tables, context.get("history", []), audit, context["buurten"])
    template = _env().get_template("report.html.j2")
    return {name: template.render(audit=audit, model=m, periods=m["periods"], scope=scope, map_attribution=ATTRIBUTION)
            for name, (m, scope) in report_files(model, audit).items()}


def render_report(tables: pd.DataFrame, audit: dict, context: dict) -> str:
    """report.html alone (the whole report for one gemeente; the overview for several)."""
    return render_reports(tables, audit, context)[OVERVIEW]
