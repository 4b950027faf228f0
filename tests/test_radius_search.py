"""The blockwise radius search (robustdml.math.RadiusSearch) against the certificate's
definition, on training sets large enough for its balls to matter."""

import numpy as np
import pytest

from robustdml.math import RadiusSearch, adversarial_margin
from robustdml.math import radius as radius_module


def naive_radii(X_train, y_train, Z, predicted, s, L):
    """docs/user_guide/method.md, section 6 literally: every (a, b) pair of every query."""
    M = L.T @ L
    radii = []
    for z, label in zip(Z, predicted):
        same, other = X_train[y_train == label], X_train[y_train != label]
        a, b = np.repeat(same, len(other), axis=0), np.tile(other, (len(same), 1))
        m = adversarial_margin(np.repeat(z[None], len(a), 0), a, b, M=M)
        t = -np.sort(-m.reshape(len(same), len(other)), axis=0)[s - 1]
        radii.append(np.sort(t)[s - 1])
    return np.array(radii)


@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_radii_equal_the_definition(s, seed, monkeypatch):
    # a small sample and few rows force the balls to grow and the blocks to repeat
    monkeypatch.setattr(radius_module, "SAMPLE_SIZE", 16)
    monkeypatch.setattr(radius_module, "QUERY_ROWS", 3)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 4)) + np.repeat(rng.normal(scale=2, size=(3, 4)), 200, axis=0)
    y = np.repeat(np.arange(3), 200)
    L = rng.normal(size=(3, 4))
    Z = rng.normal(size=(7, 4)) * 2
    predicted = rng.integers(3, size=7)
    vectors = L @ L.T
    w, V = np.linalg.eigh(vectors)
    root = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    search = RadiusSearch(L, X @ L.T, root)
    got = search.radii(Z, predicted, y, s, n_first=2, candidate_block=4)
    expected = naive_radii(X, y, Z, predicted, s, L)
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    assert np.all(got <= expected)
    capped = search.radii(Z, predicted, y, s, limit=np.median(expected))
    np.testing.assert_allclose(capped, np.minimum(expected, np.median(expected)), rtol=1e-8)


def test_a_radius_does_not_depend_on_its_block():
    # every query alone, then all together: the same bits (blocks on a cluster rely on it;
    # with the queries embedded by a product of matrices, 26 of these 40 differed in the last
    # bits)
    rng = np.random.default_rng(0)
    means = rng.normal(size=(10, 20))
    y = rng.integers(10, size=20040)
    X = np.hstack([means[y] + rng.normal(size=(20040, 20)), 3 * rng.normal(size=(20040, 30))])
    L = np.linalg.qr(rng.normal(size=(50, 50)))[0] * np.r_[np.ones(20), 0.1 * np.ones(30)]
    w, V = np.linalg.eigh(L @ L.T)
    search = RadiusSearch(L, X[40:] @ L.T, (V * np.sqrt(np.clip(w, 0, None))) @ V.T)
    together = search.radii(X[:40], y[:40], y[40:], 2)
    alone = [search.radii(X[i:i + 1], y[i:i + 1], y[40:], 2)[0] for i in range(40)]
    np.testing.assert_array_equal(together, alone)
