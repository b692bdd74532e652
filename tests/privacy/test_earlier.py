import json

import pandas as pd
import pytest
from small_tables import BUURTEN, table

from pipelines.publish.tablescsv import tables_csv
from privacy.disclosure import protect
from privacy.earlier import published_before
from privacy.secondary import ProtectionFailed


def release_folder(releases, rid: str, cells: pd.DataFrame, gemeente: str = "GM1") -> None:
    folder = releases / rid
    folder.mkdir(parents=True)
    (folder / "tables.csv").write_bytes(tables_csv(cells))
    (folder / "audit.json").write_text(json.dumps({"gemeente": {"code": gemeente}}), encoding="utf-8")


def suppressed(cells: pd.DataFrame) -> set[tuple[str, str]]:
    s = cells[(cells.status == "suppressed") & (cells.level == "buurt")]
    return set(zip(s.area_code, s.category))


def test_a_new_release_may_not_lean_on_cells_an_earlier_release_published(tmp_path):
    first, _ = protect(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), BUURTEN, {"t": 10})
    assert suppressed(first) == {("BU1", "a"), ("BU1", "b"), ("BU2", "a"), ("BU2", "b")}
    release_folder(tmp_path, "GM1-2026-10-first", first)
    release_folder(tmp_path, "GM2-2026-10-other", first.assign(value=first.value + 1), gemeente="GM2")

    # corrected data for the same period: BU2 grew, so on its own the new release would hide BU3 instead,
    # but BU3's cells (25, 25) are public since the first release: they protect nothing
    corrected = table({"BU1": (3, 40), "BU2": (200, 300), "BU3": (25, 25)})
    alone, _ = protect(corrected, BUURTEN, {"t": 10})
    assert suppressed(alone) == {("BU1", "a"), ("BU1", "b"), ("BU3", "a"), ("BU3", "b")}

    earlier = published_before(tmp_path, "GM1")
    assert set(earlier.release) == {"GM1-2026-10-first"}  # another gemeente's release is not read
    second, summary = protect(corrected, BUURTEN, {"t": 10}, earlier=earlier)
    assert suppressed(second) == {("BU1", "a"), ("BU1", "b"), ("BU2", "a"), ("BU2", "b")}
    e = summary["earlier_releases"]
    assert e["releases"] == ["GM1-2026-10-first"] and e["locked_and_protected_again"]
    assert e["cells_known"] == 4  # BU1 totaal, BU3 a, b and totaal
    assert e["cells_revised_since"] == 7  # BU2 totaal; a, b and totaal of the wijk and of the gemeente
    assert summary["audit"]["passed"]


def test_a_small_cell_an_earlier_release_published_cannot_be_hidden_again(tmp_path):
    cells = table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)})
    lenient, _ = protect(cells, BUURTEN, {"t": 3})  # an earlier, lower threshold published the 3
    release_folder(tmp_path, "GM1-2026-10-lenient", lenient)
    with pytest.raises(ProtectionFailed) as refused:
        protect(cells, BUURTEN, {"t": 10}, earlier=published_before(tmp_path, "GM1"))
    assert str(refused.value) == (
        "1 cell(s) below this release's threshold were published by an earlier release of this gemeente for this "
        "period (first: t buurt BU1 a) and cannot be hidden again. Publish this period under the rules of that "
        "release (its selections and thresholds), and change the rule from the next period on")
    assert "withdraw" not in str(refused.value).lower()  # what is public stays public


def test_without_a_releases_folder_nothing_is_known(tmp_path):
    assert published_before(tmp_path / "missing", "GM1").empty


def test_a_small_cell_an_earlier_primary_only_release_gave_away_is_refused_before_any_work(tmp_path):
    from privacy.disclosure import primary_suppression

    cells = table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)})
    leaky = primary_suppression(cells, {"t": 10})  # only the 3 hidden: totaal - b gives it away
    release_folder(tmp_path, "GM1-2026-10-leaky", leaky)
    with pytest.raises(ProtectionFailed, match=r"^1 small cell\(s\) are already shown to be below the threshold by "
                                               r"what earlier releases of this gemeente published \(first: t buurt "
                                               r"BU1 a, bounded through their t buurt BU1 totaal, t buurt BU1 b\); "
                                               r"no release of this period can protect them. Keep the "
                                               r"earlier release as this period's publication, and change the rule "
                                               r"from the next period on$"):
        protect(cells, BUURTEN, {"t": 10}, earlier=published_before(tmp_path, "GM1"))


def test_release_ids_name_what_they_were_protected_against_and_a_rerun_reproduces_its_release(release, tmp_path):
    """Two work directories, one publication register: each sees the other's releases; a re-run of the
    same inputs and rules gives the same bytes, even after another release of the period went out."""
    from test_atoms import LOPENDE_UITKERING, selection_yaml, setup_run

    from pipelines.pipeline import stage_protect, stage_publish, stage_tabulate

    register = tmp_path / "register"
    a = setup_run(release, tmp_path, {}, published_dir=register, work="a")

    def publish(run):
        cells, summary = stage_protect(run, stage_tabulate(run), {})
        return stage_publish(run, cells, {}, {}, summary)

    first = publish(a)
    assert json.loads((first.folder / "audit.json").read_text())["fingerprint"]["protected_against"] == []
    b = setup_run(release, tmp_path, {"lopende-uitkering": selection_yaml("lopende-uitkering", LOPENDE_UITKERING)},
                  published_dir=register, work="b")
    second = publish(b)
    audit2 = json.loads((second.folder / "audit.json").read_text())
    assert audit2["fingerprint"]["protected_against"] == [first.release_id]
    assert sorted(p.name for p in register.iterdir()) == sorted([first.release_id, second.release_id])

    again = publish(a)  # the same inputs and rules: protected as the first was, so the same release
    assert again.release_id == first.release_id
    assert (again.folder / "tables.csv").read_bytes() == (first.folder / "tables.csv").read_bytes()
    assert (again.folder / "audit.json").read_bytes() == (first.folder / "audit.json").read_bytes()
