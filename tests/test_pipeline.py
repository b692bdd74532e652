"""A file that cannot be read stops the run; nothing is published."""

import pytest
from conftest import write_settings

from pipelines.ingest.readers import SourceFileError
from pipelines.pipeline import run_all
from pipelines.publish import read_record


def _nothing_published(work):
    releases = work / "releases"
    return (not releases.exists() or not any(releases.iterdir())) and not (work / "ledger.jsonl").exists()


def _warehouse_untouched(work):
    return not (work / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda s: (s / "wmo.csv").unlink(), "source 'wmo', file {s}/wmo.csv: file not found"),
        (lambda s: (s / "brp.csv").write_bytes((s / "brp.csv").read_bytes().replace(b"Buurtcode", b"Wijk", 1)),
         "source 'brp', file {s}/brp.csv: missing column(s) 'Buurtcode'"),
        (lambda s: (s / "uitkeringen.csv").write_bytes(b"BSN;Regeling\x81\n1;x\n"),
         "source 'uitkeringen', file {s}/uitkeringen.csv: cannot be decoded as cp1252"),
    ],
)
def test_unreadable_source_stops_the_run_and_publishes_nothing(sources_copy, key_file, tmp_path, damage, message):
    damage(sources_copy)
    settings = write_settings(tmp_path / "run", sources_copy, key_file)
    with pytest.raises(SourceFileError) as e:
        run_all(settings)
    assert str(e.value).startswith(message.format(s=sources_copy))
    assert _nothing_published(tmp_path / "run" / "work")
    assert _warehouse_untouched(tmp_path / "run" / "work")  # the preflight stopped it before any load


def test_quarantined_rows_are_counted_in_the_release(sources_copy, key_file, tmp_path):
    import csv
    import json

    path = sources_copy / "wmo.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    rows[3][1] = "99"  # not an iWmo productcategorie
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    rel = run_all(write_settings(tmp_path / "run", sources_copy, key_file))
    audit = json.loads((rel.folder / "audit.json").read_text(encoding="utf-8"))
    wmo = audit["row_accounting"]["wmo"]
    assert wmo["rows_quarantined"] == 1 and wmo["quarantined_by_rule"] == {"productcategorie-codelijst": 1}
    assert "rows_read" not in wmo  # rule C1
    wmo = read_record(rel.folder)["row_accounting"]["wmo"]
    assert wmo["rows_read"] == wmo["rows_loaded"] + 1
    quarantine = (tmp_path / "run" / "work" / "quarantine" / "2026-10" / "wmo.csv").read_text(encoding="utf-8")
    assert quarantine.splitlines()[1] == ("wmo,wmo.csv,3,productcategorie-codelijst,productcategorie,"
                                          "not met: productcategorie is a code of iWmo codelijst WMO022 (01-18)")


def _refuse(*args, **kwargs):
    from privacy.secondary import ProtectionFailed

    raise ProtectionFailed("2 small cell(s) are already shown to be below the threshold")


@pytest.mark.parametrize("refuser", ["stage_tabulate", "protect"])
def test_a_refused_release_still_gives_the_wijkteams_their_signal_lists(release, sources, key_file, tmp_path,
                                                                       monkeypatch, refuser):
    """The lists serve the vroeg-eropaf purpose and are no publication: a release that tabulation or
    protection refuses publishes nothing, and the month's lists are made all the same (the same lists as
    the session release's, from the same sources and keys); the message says both."""
    import pipelines.pipeline as pipeline
    from pipelines import failures
    from privacy.secondary import ProtectionFailed

    monkeypatch.setattr(pipeline, refuser, _refuse)
    with pytest.raises(pipeline.RefusedListsMade) as info:
        run_all(write_settings(tmp_path / "run", sources, key_file))
    assert isinstance(info.value, ProtectionFailed)  # whoever catches a refusal still does
    assert failures.problems(info.value) == [
        "2 small cell(s) are already shown to be below the threshold",
        "the signal lists of 2026-10 were made all the same (outreach/2026-10 in the work directory): "
        "verse-achterstand-zorg-energie: 35 case(s) on 4 list(s)"]
    work = tmp_path / "run" / "work"
    assert _nothing_published(work)
    ours, theirs = (w / "outreach" / "2026-10" / "verse-achterstand-zorg-energie" for w in (work, release["work"]))
    pages = sorted(p.name for p in ours.glob("*.html"))
    assert len(pages) == 4 and pages == sorted(p.name for p in theirs.glob("*.html"))
    for name in pages:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


def test_a_refusal_without_signal_lists_says_only_the_refusal(sources, key_file, tmp_path, monkeypatch):
    import pipelines.pipeline as pipeline
    from pipelines import failures

    monkeypatch.setattr(pipeline, "protect", _refuse)
    monkeypatch.setattr(pipeline, "stage_outreach", lambda run: {"lists": [], "reason": "no selection asks for signal_list"})
    with pytest.raises(pipeline.RefusedListsMade) as info:
        run_all(write_settings(tmp_path / "run", sources, key_file))
    assert failures.problems(info.value) == ["2 small cell(s) are already shown to be below the threshold"]


def test_a_failure_while_making_the_lists_is_its_own_not_the_refusal():
    """A bug in the outreach stage after a refusal is an internal error (exit 70), not read as the refusal
    (exit 1) through its context."""
    from pipelines import failures
    from pipelines.pipeline import lists_even_if_refused

    def broken():
        raise KeyError("lists")

    with pytest.raises(KeyError) as info:
        with lists_even_if_refused(broken):
            _refuse()
    assert failures.cause(info.value) is info.value and failures.problems(info.value) == []
