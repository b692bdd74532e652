"""The report in a real browser: Debian's chromium, headless, with the network off.

.ci/run installs chromium; there WIJKSIGNAAL_REQUIRE_BROWSER=1 makes a missing browser a
failure instead of a skip. The screenshots are kept in work/test-artifacts/.
"""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "work" / "test-artifacts"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    if not chromium():
        if os.environ.get("WIJKSIGNAAL_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (Debian: apt-get install chromium)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.mark.parametrize("view", ["", "#WK016405", "#BU01640503"])
def test_report_opens_offline_without_errors_and_draws_everything(browser, trend_release, view):
    report = trend_release["release"].folder / "report.html"
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors, failed, requests = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri() + view)
    page.wait_for_selector("#map svg path")
    assert errors == [] and failed == []
    assert requests == [report.as_uri()]  # nothing but the file itself
    text = page.inner_text("body")
    assert "Stapeling: aantal domeinen per huishouden" in text and "Combinaties van domeinen" in text
    assert "Bron: CBS, Kadaster" in text
    assert page.locator("#map svg path").count() == 62  # every buurt of Hengelo
    assert page.locator("svg[aria-label^='verloop']").count() > 5  # trend lines next to the figures
    if view.startswith("#BU"):
        assert "Vergelijkbare buurten" in text and page.locator(".card").count() == 4
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report{view.replace('#', '-')}.png"), full_page=True)
    context.close()


def test_the_report_prints_the_area_and_each_of_its_buurten_on_a_page_of_its_own(browser, trend_release):
    report = trend_release["release"].folder / "report.html"
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(report.as_uri() + "#WK016405")
    page.wait_for_selector("#map svg path")
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    pages = page.locator("#printall section.page")
    buurten = page.evaluate("JSON.parse(document.getElementById('data').textContent).areas['WK016405'].children.length")
    assert pages.count() == 1 + buurten and buurten > 2
    assert not page.locator("#view").is_visible() and not page.locator("#map").is_visible()
    assert "Huishoudens met 2 of meer domeinen" in pages.nth(0).inner_text()
    import re

    assert len(re.findall(rb"/Type\s*/Page[^s]", page.pdf())) >= 1 + buurten
    context.close()


def _crumbs(page, steps: int) -> None:
    """Wait until the crumbs show `steps` steps below the top (at most 10 s)."""
    page.wait_for_function("n => document.querySelector('#crumbs').innerText.split('\u203a').length - 1 === n",
                           arg=steps, timeout=10_000)


def test_a_wijkteam_finds_its_buurt_from_the_overview_of_a_release_of_several_gemeenten(browser, release, tmp_path):
    """The country's split: report.html lists the gemeenten, each opens its own file (gemeente, wijk,
    buurt there), and the crumbs lead back to the overview; nothing but the release's files is read."""
    from twogemeenten import OTHER, two_gemeenten

    from pipelines import geography
    from pipelines.publish.report import render_reports

    tables, audit = two_gemeenten(release["release"].folder)
    for name, html in render_reports(tables, audit, {"buurten": geography.buurten("NL"), "history": []}).items():
        (tmp_path / name).write_text(html, encoding="utf-8")
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((tmp_path / "report.html").as_uri())
    rows = page.locator("#view table tbody tr")
    assert rows.count() == 2 and "Gemeenten in Nederland" in page.inner_text("#view")
    page.locator("#view a.area", has_text="Oldenzaal").click()
    page.wait_for_selector("#map svg path")
    assert page.url == (tmp_path / f"report-{OTHER}.html").as_uri() + f"#{OTHER}"
    assert page.locator("#map svg path").count() == 14  # every buurt of Oldenzaal
    assert page.inner_text("#crumbs") == "Nederland › Oldenzaal"
    page.locator("#view a.area").first.click()  # its first wijk
    _crumbs(page, 2)  # the page renders after the address changes: wait for it (a loaded machine lags)
    assert page.url.endswith("#WK017301") and page.inner_text("#crumbs").count("›") == 2
    page.locator("#view a.area").first.click()  # that wijk's first buurt
    _crumbs(page, 3)
    assert "#BU0173" in page.url and page.inner_text("#crumbs").count("›") == 3
    assert "Stapeling: aantal domeinen per huishouden" in page.inner_text("#view")
    page.locator("#crumbs a", has_text="Nederland").click()
    page.wait_for_selector("#view table")
    assert page.url == (tmp_path / "report.html").as_uri()
    page.select_option("#goto", "GM0164")  # the overview's menu opens a gemeente's file too
    page.wait_for_selector("#map svg path")
    assert page.url.endswith("report-GM0164.html#GM0164") and page.locator("#map svg path").count() == 62
    assert errors == []
    assert {r.split("#")[0] for r in requests} == {(tmp_path / n).as_uri() for n in (
        "report.html", f"report-{OTHER}.html", "report-GM0164.html")}
    context.close()
