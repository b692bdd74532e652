import ast
from pathlib import Path

import pytest

import privacy.redact
from privacy.redact import mask_file_name


@pytest.mark.parametrize("name, masked", [
    ("signalen_123456782.json", "signalen_•••••••••.json"),      # a valid BSN
    ("signalen_123456789.json", "signalen_•••••••••.json"),      # fails the 11-proef: masked all the same
    ("dossier-12345678.csv", "dossier-••••••••.csv"),            # a BSN without its leading zero
    ("adres_0164010000000042.csv", "adres_••••••••••••••••.csv"),  # a BAG id
    ("brp_20261031.csv", "brp_20261031.csv"),                    # an extract date stays readable
    ("brp_20261331.csv", "brp_••••••••.csv"),                    # not a date: masked
    ("vroegsignalen_2026-10.json", "vroegsignalen_2026-10.json"),
    ("uitkeringen.csv", "uitkeringen.csv"),
    ("x_１２３４５６７８２.csv", "x_•••••••••.csv"),                  # full-width digits
    ("/data/123456782/brp.csv", "/data/•••••••••/brp.csv"),       # a whole path
])
def test_bsn_like_digit_runs_are_masked(name, masked):
    assert mask_file_name(name) == masked


def test_privacy_does_not_import_pipelines():
    tree = ast.parse(Path(privacy.redact.__file__).read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith(("pipelines", ".")) for m in imported)
