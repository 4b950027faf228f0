"""Hypothesis draws the same examples on every run by default, so that `make test` on a clean
clone passes or fails reproducibly; ``HYPOTHESIS_PROFILE=explore make test`` draws new ones to
look for failures nobody has met yet (a failure it finds belongs in a regression test)."""

import os

import pytest
from hypothesis import settings

settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


@pytest.fixture
def lmnn_fits(monkeypatch):
    """A list that grows by one at every LMNN fit (to see what a cache saved)."""
    from robustdml import LMNN
    fits, original = [], LMNN.fit
    monkeypatch.setattr(LMNN, "fit", lambda self, X, y: fits.append(1) or original(self, X, y))
    return fits
