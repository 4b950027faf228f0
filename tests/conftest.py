"""Hypothesis draws the same examples on every run by default, so that `make test` on a clean
clone passes or fails reproducibly; ``HYPOTHESIS_PROFILE=explore make test`` draws new ones to
look for failures nobody has met yet (a failure it finds belongs in a regression test)."""

import os

from hypothesis import settings

settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))
