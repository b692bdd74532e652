from pipelines.select.selections import json_schema
from pipelines.settings import SELECTIONS_DIR


def test_published_json_schema_is_current():
    """selections/selection.schema.json is what editors use: it must match the model."""
    assert (SELECTIONS_DIR / "selection.schema.json").read_text(encoding="utf-8") == json_schema()
