"""The Prefect flow: stages as tasks; no personal data in parameters, logs or artifacts."""

import asyncio
import json
from pathlib import Path

from conftest import write_settings

from privacy.leakscan import bsn_like, nine_digit_numbers


def test_flow_publishes_and_prefect_holds_no_personal_data(prefect_server, sources, key_file, tmp_path, source_bsns):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort, TaskRunSort

    from pipelines.flow import release_flow

    settings = write_settings(tmp_path / "run", sources, key_file)
    state = release_flow(str(settings), "2026-10", return_state=True)
    result = state.result()
    assert (tmp_path / "run" / "work" / "releases" / result["release_id"] / "tables.csv").exists()

    async def collect():
        async with get_client() as client:
            run = await client.read_flow_run(state.state_details.flow_run_id)
            tasks = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])), limit=200,
                sort=TaskRunSort.EXPECTED_START_TIME_ASC)
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])), limit=200, offset=0,
                sort=LogSort.TIMESTAMP_ASC)
            # the typed client sends nulls this server version rejects: ask the API directly
            response = await client._client.post("/artifacts/filter", json={
                "artifacts": {}, "flow_runs": {"id": {"any_": [str(run.id)]}}, "task_runs": {},
                "sort": "CREATED_DESC", "limit": 50, "offset": 0})
            artifacts = response.json()
            return run, tasks, logs, artifacts

    run, tasks, logs, artifacts = asyncio.run(collect())
    assert {t.name.split("-")[0] for t in tasks} >= {"ingest", "link", "tabulate", "protect", "publish"}
    text = json.dumps(run.parameters) + "\n".join(entry.message for entry in logs) + "\n".join(
        str(a["data"]) for a in artifacts)
    assert any("# Release " in str(a["data"]) for a in artifacts)
    assert any("pseudonymised and loaded" in entry.message for entry in logs), "pipeline logs reach Prefect"
    assert bsn_like(text) == []
    assert not nine_digit_numbers(text) & source_bsns  # Prefect's own ids are UUIDs too


def test_a_refused_release_fails_the_flow_and_its_message_names_the_lists_made(prefect_server, sources, key_file,
                                                                                tmp_path, monkeypatch):
    import pipelines.pipeline as pipeline
    from pipelines.flow import release_flow
    from privacy.secondary import ProtectionFailed

    def refuse(*args, **kwargs):
        raise ProtectionFailed("2 small cell(s) are already shown to be below the threshold")

    monkeypatch.setattr(pipeline, "protect", refuse)
    settings = write_settings(tmp_path / "run", sources, key_file)
    state = release_flow(str(settings), "2026-10", return_state=True)
    assert (state.type.value, state.name) == ("FAILED", "Failed")
    assert state.message == (
        "2 small cell(s) are already shown to be below the threshold\n"
        "the signal lists of 2026-10 were made all the same (outreach/2026-10 in the work directory): "
        "verse-achterstand-zorg-energie: 35 case(s) on 4 list(s)")
    assert not (tmp_path / "run" / "work" / "releases").exists() or not any((tmp_path / "run" / "work" / "releases").iterdir())
    assert len(list((tmp_path / "run" / "work" / "outreach" / "2026-10" / "verse-achterstand-zorg-energie").glob("*.xlsx"))) == 4


HOSTILE = {"buurt": "123456782", "uitkering": "111222333", "productcode": "987654321"}


def test_after_a_run_over_hostile_rows_no_bsn_is_in_any_byte_of_the_work_directory_or_prefects_database(
        prefect_server, sources_copy, key_file, tmp_path):
    """Issue 11: scan raw bytes (warehouse, WAL, temp, quarantine, quality, releases, Prefect's
    SQLite database), not what SQL returns."""
    import csv
    import re

    from prefect.settings import get_current_settings

    from pipelines.flow import release_flow

    def rewrite(name, encoding, delimiter, change):
        path = sources_copy / name
        with path.open(encoding=encoding, newline="") as fh:
            rows = list(csv.reader(fh, delimiter=delimiter))
        change(rows)
        with path.open("w", encoding=encoding, newline="") as fh:
            csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(rows)

    with (sources_copy / "brp.csv").open(encoding="utf-8") as fh:
        brp = list(csv.DictReader(fh))
    bsns = {r["BSN"] for r in brp}
    names = {r[c] for r in brp for c in ("Geslachtsnaam", "Voornamen", "Straatnaam") if len(r[c]) >= 6}
    rewrite("brp.csv", "utf-8", ",", lambda rows: rows[7].__setitem__(rows[0].index("Buurtcode"),
                                                                         f"BU{HOSTILE['buurt']}"))
    rewrite("uitkeringen.csv", "cp1252", ";", lambda rows: rows[3].__setitem__(0, HOSTILE["uitkering"]))
    rewrite("wmo.csv", "utf-8", ",", lambda rows: rows[2].__setitem__(rows[0].index("Productcode"),
                                                                       HOSTILE["productcode"]))
    settings = write_settings(tmp_path / "run", sources_copy, key_file)
    state = release_flow(str(settings), "2026-10", return_state=True)
    assert state.is_completed()

    db = Path(get_current_settings().server.database.connection_url.get_secret_value().split("///", 1)[1])
    lists = tmp_path / "run" / "work" / "outreach" / "2026-10" / "verse-achterstand-zorg-energie"
    assert sorted(lists.glob("*.html"))  # the signal lists: the one place (besides the encrypted vault) names are
    files = [p for p in (tmp_path / "run" / "work").rglob("*") if p.is_file() and not p.is_relative_to(lists)]
    files += [p for p in db.parent.iterdir() if p.name.startswith(db.name)]  # the database, its -wal and -shm
    assert any(p.name == "warehouse.duckdb" for p in files) and db in files
    quarantine = (tmp_path / "run" / "work" / "quarantine" / "2026-10")
    assert ",7,buurtcode-formaat," in (quarantine / "brp.csv").read_text()  # the hostile row was read and quarantined
    digits = re.compile(rb"(?<![0-9])[0-9]{9}(?![0-9])")
    wanted = bsns | set(HOSTILE.values())
    found = {}
    for p in files:
        data = p.read_bytes()
        hits = {m.decode() for m in digits.findall(data)} & wanted
        hits |= {n for n in names if n.encode("utf-8") in data}
        if hits:
            found[str(p)] = sorted(hits)[:3]
    assert found == {}
