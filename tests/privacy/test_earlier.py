import json

import pandas as pd
import pytest

from pipelines.tablescsv import tables_csv
from privacy.disclosure import protect
from privacy.earlier import published_before
from privacy.secondary import ProtectionFailed

from small_tables import BUURTEN, table


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
    with pytest.raises(ProtectionFailed, match=r"^1 cell\(s\) below the threshold were published by an earlier "
                                               r"release of this gemeente \(first: t buurt BU1 a\); this release "
                                               r"cannot hide them again. Withdraw that release first$"):
        protect(cells, BUURTEN, {"t": 10}, earlier=published_before(tmp_path, "GM1"))


def test_without_a_releases_folder_nothing_is_known(tmp_path):
    assert published_before(tmp_path / "missing", "GM1").empty


def test_a_small_cell_an_earlier_primary_only_release_gave_away_is_refused_before_any_work(tmp_path):
    from privacy.disclosure import primary_suppression

    cells = table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)})
    leaky = primary_suppression(cells, {"t": 10})  # only the 3 hidden: totaal - b gives it away
    release_folder(tmp_path, "GM1-2026-10-leaky", leaky)
    with pytest.raises(ProtectionFailed, match=r"^1 small cell\(s\) are already shown to be below the threshold by "
                                               r"what earlier releases of this gemeente published \(first: t buurt "
                                               r"BU1 a\); no new release can protect them"):
        protect(cells, BUURTEN, {"t": 10}, earlier=published_before(tmp_path, "GM1"))
