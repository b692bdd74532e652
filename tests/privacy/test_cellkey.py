import numpy as np
import pytest
from pydantic import ValidationError

from privacy.cellkey import KEY_SPACE, noise, ptable_row
from privacy.dpia import Purpose


@pytest.mark.parametrize("room", [0, 1, 2, 5])
def test_ptable_rows_have_mean_zero_bounded_variance_and_never_cross_the_threshold(room):
    j, p = ptable_row(2, 1.0, room)
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()
    assert p @ j == pytest.approx(0.0, abs=1e-6) and p @ (j * j) <= 1.0 + 1e-6
    assert j.min() >= -min(room, 2) and j.max() <= 2


def test_the_same_cell_key_gives_the_same_noise_and_the_noise_follows_the_ptable():
    keys = np.random.default_rng(7).integers(0, KEY_SPACE, 50_000)
    values, thr = np.full(50_000, 40), np.full(50_000, 10)
    first, again = noise(values, keys, thr, 2, 1.0), noise(values, keys + 5 * KEY_SPACE, thr, 2, 1.0)
    assert (first == again).all()  # only the key modulo 2^32 counts
    j, p = ptable_row(2, 1.0, 2)
    assert np.bincount(first + 2, minlength=5) / len(first) == pytest.approx(p, abs=0.01)
    assert (noise(np.full(1000, 10), keys[:1000], np.full(1000, 10), 2, 1.0) == 0).all()  # at the threshold: none


def test_a_purpose_rounds_or_adds_noise_not_both():
    base = dict(title="t", description="d", legal_basis={"text": "t", "link": "https://x"},
                allowed_sources={"brp": []}, allowed_outputs=["buurt_tables"], min_cell_size=10,
                retention_months={"brp": 1})
    Purpose.model_validate({**base, "cell_key": {"max_noise": 2, "variance": 1.0}})
    with pytest.raises(ValidationError, match="choose rounding or cell_key, not both"):
        Purpose.model_validate({**base, "rounding": {"base": 5}, "cell_key": {}})
