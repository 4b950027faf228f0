"""The evaluation protocol (:doc:`/user_guide/method`, section 7): one (data set, method, split)
cell.

A cell splits the data (or takes the source's own split), fits the preprocessing on the
training part (or, as the authors did, on the whole data), tunes the method's hyper-parameters
by k-fold random search on the training part only, refits, and measures on the test part: clean
error, error under Gaussian noise, certified robust error and radius, the attack's empirical
robust error, and timings. Nothing from the test part reaches preprocessing (unless asked),
tuning or training.
"""

import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np
from scipy.stats import loguniform, uniform
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.experimental import enable_halving_search_cv  # noqa: F401 (enables the import)
from sklearn.model_selection import (GridSearchCV, HalvingGridSearchCV, ParameterSampler,
                                     StratifiedKFold, StratifiedShuffleSplit)
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler

from ..estimators import ARML, LMNN, NCA
from ..evaluation import CertifiedKNN, knn_attack, noise_error
from ..evaluation.scoring import data_scale, make_certified_scorer


#: Parameters renamed since records were written, old name to new: a stored record's search
#: space reads with the new names (its ``params`` keep the names it was written with).
RENAMED_PARAMETERS = {"regularisation": "drift_weight"}


@dataclass(frozen=True)
class ProtocolConfig:
    """Everything that decides a cell's numbers; saved beside the results.

    Attributes
    ----------
    n_splits : int
        Repeated random splits per data set (the reference: 20).
    test_size : float
        Test fraction of each split.
    seed : int
        Split r uses seed + r (splits, CV folds, random search, noise, attack subsample).
    preprocessing : {"train", "whole"}
        Fit the scaling on the training part, or on the whole data set before splitting (the
        authors' choice).
    scaling : {"standardize", "minmax"}
        Standardize then unit-norm rows (the paper's), or every feature to [0, 1] (ARML's).
        "standardise", the old spelling, is read as "standardize" with a FutureWarning until
        the next release.
    budget : int
        Random-search candidates per tuned method.
    cv_folds : int
    n_neighbors : int
        k of the k-NN classifier (odd).
    sigmas : tuple of float
        Noise levels for the noise error.
    noise_draws : int
    radii : tuple of float
        Radii of the certified and empirical robust errors.
    attack_points : int
        Test points attacked per cell (a seeded subsample when the test part is larger).
    use_source_splits : bool
        Use the splits a data source ships (the authors' Australian.mat) when it has them.
    search : {"random", "halving"}
        Cross-validate every candidate on all the training part, or by successive halving
        (scikit-learn's ``HalvingGridSearchCV``, factor 3: all candidates on a ninth of it for
        budget 9, the best third on a third, the best on all), which affords larger budgets.
    select : {"accuracy", "certified"}
        What the cross-validated tuning maximizes: accuracy (the paper's rule) or certified
        accuracy at the robust radius R. "certified" needs ``search="random"``: certified
        accuracy on a ninth of the data can rank candidates in reverse of the whole (splice,
        LMNN-PL: the best of 9 on 248 points, 0.54, is the fourth worst on 2,232, 0.17; the
        best there, 0.34, was seventh of 9 on the ninth), so halving drops the right one.
    relative_radius : float
        R in units of the data set's scale (:func:`data_scale` of the preprocessed training
        part), so that one value means the same on every data set. Every record holds the
        certified robust error at R, whatever the selection rule. 0.1: on unit-norm rows the
        scale is 0.38 (iris) to 0.96 (wine), so R is 0.04 to 0.1, below the Euclidean metric's
        median certified radius on the quick suite (0.05 to 0.39): candidates still differ.
    """

    n_splits: int = 20
    test_size: float = 0.3
    seed: int = 0
    preprocessing: str = "train"
    scaling: str = "standardize"
    budget: int = 8
    cv_folds: int = 5
    n_neighbors: int = 3
    sigmas: tuple = (0.05, 0.1, 0.2, 0.3)
    noise_draws: int = 5
    radii: tuple = (0.02, 0.05, 0.1, 0.2)
    attack_points: int = 200
    use_source_splits: bool = True
    search: str = "random"
    select: str = "accuracy"
    relative_radius: float = 0.1

    def __post_init__(self):
        if self.preprocessing not in ("train", "whole"):
            raise ValueError(f"preprocessing must be 'train' or 'whole', got "
                             f"{self.preprocessing!r}.")
        if self.scaling == "standardise":
            warnings.warn("scaling='standardise' is spelled 'standardize'; the old spelling is "
                          "refused from the next release.", FutureWarning, stacklevel=3)
            object.__setattr__(self, "scaling", "standardize")
        if self.scaling not in ("standardize", "minmax"):
            raise ValueError(f"scaling must be 'standardize' or 'minmax', got "
                             f"{self.scaling!r}.")
        if self.search not in ("random", "halving"):
            raise ValueError(f"search must be 'random' or 'halving', got {self.search!r}.")
        if self.select not in ("accuracy", "certified"):
            raise ValueError(f"select must be 'accuracy' or 'certified', got {self.select!r}.")
        if self.select == "certified" and self.search == "halving":
            raise ValueError("select='certified' needs search='random': successive halving "
                             "ranks candidates by certified accuracy on a ninth of the data, "
                             "which can order them in reverse of the whole training part.")
        if not self.relative_radius > 0:
            raise ValueError(f"relative_radius must be > 0, got {self.relative_radius}.")
        if self.n_neighbors % 2 == 0:
            raise ValueError(f"n_neighbors must be odd for certification, got "
                             f"{self.n_neighbors}.")
        for name in ("n_splits", "budget", "cv_folds", "noise_draws", "attack_points"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be in (0, 1), got {self.test_size}.")

    def to_dict(self):
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values):
        # a saved configuration may hold the old spelling: read silently, as written then
        values = {**values, **({"scaling": "standardize"}
                               if values.get("scaling") == "standardise" else {})}
        return cls(**{key: tuple(value) if isinstance(value, list) else value
                      for key, value in values.items()})


@dataclass(frozen=True)
class Method:
    """A metric to evaluate: ``learner`` (None: Euclidean) and what to tune in it.

    ``scaled`` names learner parameters given in units of the data set's scale
    (:func:`data_scale`), in the learner and in the search space alike: a cell multiplies them
    by the scale of its training part, so one margin means the same on every data set and
    under every preprocessing (unit-norm rows have a scale near 0.5, min-max scaled one-hot
    columns near 8).

    ``later_stages`` are search spaces tuned one after the other once ``search_space`` is:
    each stage searches its own parameters with the best of the earlier stages fixed, and
    its first candidate is the learner as the earlier stages left it (so a stage never picks,
    by cross-validation, worse than stopping before it). Each stage gets the whole budget.
    """

    name: str
    learner: Optional[object]
    search_space: dict = field(default_factory=dict)
    scaled: tuple = ()
    later_stages: tuple = ()

    @property
    def stages(self):
        """The search spaces in the order they are tuned (none for an untuned method)."""
        return tuple(space for space in (self.search_space, *self.later_stages) if space)

    def describe(self):
        """What a record of this method was made with: its search space as text, and which
        parameters are in units of the data scale. A stored record that differs is stale."""
        space = {}
        for number, stage in enumerate(self.stages, 1):
            for key, text in describe_space(stage).items():
                space[key] = text + (" x data scale" if key in self.scaled else "") + (
                    f" (stage {number})" if len(self.stages) > 1 else "")
        return {"search_space": space, "scaled": sorted(self.scaled)}

    def is_current(self, record):
        """Whether ``record`` was made by this method as it is defined now (records written
        before these fields existed count as made with nothing scaled)."""
        described = self.describe()
        stored = record.get("search_space", described["search_space"])
        stored = {RENAMED_PARAMETERS.get(key, key): text for key, text in stored.items()}
        return (record.get("scaled", []) == described["scaled"]
                and stored == described["search_space"])


def default_methods():
    """euclidean, lmnn, lmnn-pl, lmnn-pl-staged, scikit-learn's NCA, nca-pl (our NCA with the
    perturbation loss) and arml (the robust peer, untuned as its authors ran it), with the
    search spaces of the study.

    lmnn-pl tunes LMNN's and the perturbation loss's settings jointly; lmnn-pl-staged tunes
    LMNN's first, as lmnn does, then the perturbation loss's with them fixed (plain LMNN as
    its first candidate), which asks whether the loss helps an LMNN already tuned by the same
    rule. The margins are in units of the data scale (see :class:`Method`): from 0.02 to 1
    times the median distance between a point and its nearest other-class point.
    """
    margin = ("perturbation_margin",)
    lmnn_space = {"pull_weight": uniform(0.05, 0.9), "drift_weight": loguniform(0.01, 1.0)}
    loss_space = {"perturbation_weight": loguniform(0.1, 100.0),
                  "perturbation_margin": loguniform(0.02, 1.0)}
    return {
        "euclidean": Method("euclidean", None),
        "lmnn": Method("lmnn", LMNN(), lmnn_space),
        "lmnn-pl": Method("lmnn-pl", LMNN(perturbation_weight=1.0, perturbation_margin=0.2),
                          {**lmnn_space, **loss_space}, margin),
        "lmnn-pl-staged": Method("lmnn-pl-staged", LMNN(), lmnn_space, margin, (loss_space,)),
        "nca": Method("nca", NeighborhoodComponentsAnalysis(random_state=0)),
        "nca-pl": Method("nca-pl", NCA(perturbation_weight=1.0, perturbation_margin=0.2),
                         loss_space, margin),
        "arml": Method("arml", ARML()),
    }


def preprocessing(pca_components=None, scaling="standardize"):
    """"standardize": standardize, (optionally) PCA, then unit-norm rows (the paper's);
    "minmax": (optionally) PCA, then every feature scaled to [0, 1] (ARML's)."""
    pca = [] if pca_components is None else [PCA(n_components=pca_components, random_state=0)]
    if scaling == "minmax":
        return make_pipeline(*pca, MinMaxScaler())
    return make_pipeline(StandardScaler(), *pca, Normalizer())


def split_indices(dataset, split, config):
    """(train, test) indices of split number ``split``."""
    if config.use_source_splits and dataset.splits is not None:
        if split >= len(dataset.splits):
            raise ValueError(f"{dataset.spec.name} ships {len(dataset.splits)} splits; "
                             f"split {split} does not exist.")
        return dataset.splits[split]
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=config.test_size,
                                      random_state=config.seed + split)
    return next(splitter.split(dataset.X, dataset.y))


def candidate_grid(space, budget, seed, scaled=(), scale=1.0):
    """The learner's defaults plus ``budget - 1`` random draws from ``space``, as a
    ``GridSearchCV`` grid: tuning then never picks, by cross-validation, worse than the
    defaults. Draws of the ``scaled`` parameters are multiplied by ``scale``."""
    draws = ParameterSampler(space, n_iter=max(budget - 1, 0), random_state=seed)
    return [{}] + [{f"metric_learner__{key}": [value * scale if key in scaled else value]
                    for key, value in draw.items()} for draw in draws]


def describe_space(space):
    """A search space as text, e.g. ``{"perturbation_weight": "loguniform(0.1, 100)"}``."""
    def describe(distribution):
        frozen = getattr(distribution, "dist", None)
        if frozen is None:
            return repr(distribution)
        if frozen.name == "uniform":  # scipy's (loc, scale) as the interval
            low, width = distribution.args
            return f"uniform({low:g}, {low + width:g})"
        return f"{frozen.name}({', '.join(f'{a:g}' for a in distribution.args)})"
    return {key: describe(value) for key, value in space.items()}


def _values_used(knn, params):
    """The tuned parameters' values, those left at "auto" replaced by what the fitted learner
    used (its attribute of the same name with a trailing underscore, e.g. ``pull_weight_``)."""
    return {key: getattr(knn.metric_learner_, key.removeprefix("metric_learner__") + "_")
            if isinstance(value, str) and value == "auto" else value
            for key, value in params.items()}


def run_cell(dataset, method, split, config, memory=None):
    """Evaluate one method on one split of one data set; returns a JSON-ready record.
    ``memory`` (a cache directory or ``joblib.Memory``) caches the fitted metrics."""
    seed = config.seed + split
    train, test = split_indices(dataset, split, config)
    prep = preprocessing(dataset.spec.pca_components, config.scaling)
    prep.fit(dataset.X if config.preprocessing == "whole" else dataset.X[train])
    X_train, X_test = prep.transform(dataset.X[train]), prep.transform(dataset.X[test])
    y_train, y_test = dataset.y[train], dataset.y[test]

    scale = data_scale(X_train, y_train)
    robust_radius = config.relative_radius * scale
    scoring = make_certified_scorer(robust_radius) if config.select == "certified" else None

    learner = None if method.learner is None else clone(method.learner)
    if method.scaled:
        learner.set_params(**{key: learner.get_params()[key] * scale for key in method.scaled})
    knn = CertifiedKNN(config.n_neighbors, learner, memory=memory)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small classes, convergence: recorded by the numbers
        if method.stages:
            folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=seed)
            for number, space in enumerate(method.stages, 1):
                last = number == len(method.stages)
                grid = candidate_grid(space, config.budget, seed, method.scaled, scale)
                if config.search == "halving":
                    # every candidate on a third of a third of the data, the best third on a
                    # third, the best on all of it: budget 9 costs about 1.5 full fits per fold
                    search = HalvingGridSearchCV(knn, grid, factor=3, scoring=scoring,
                                                 cv=folds, random_state=seed, refit=last)
                else:
                    search = GridSearchCV(knn, grid, scoring=scoring, cv=folds, refit=last)
                search.fit(X_train, y_train)
                if not last:  # fix this stage's best for the next
                    knn = clone(knn).set_params(**search.best_params_)
            knn, cv_score = search.best_estimator_, search.best_score_
            params = {f"metric_learner__{key}": knn.get_params()[f"metric_learner__{key}"]
                      for space in method.stages for key in space}
            fit_seconds = search.refit_time_
        else:
            fit_start = time.perf_counter()
            knn.fit(X_train, y_train)
            fit_seconds = time.perf_counter() - fit_start
            params, cv_score = {}, None
    tune_seconds = time.perf_counter() - start

    start = time.perf_counter()
    certified = knn.certified_radius(X_test, y_test)
    certify_seconds = time.perf_counter() - start
    noise_mean, _ = noise_error(knn, X_test, y_test, config.sigmas, config.noise_draws,
                                random_state=seed)
    rng = np.random.default_rng(seed)
    attacked = (np.arange(len(test)) if len(test) <= config.attack_points
                else np.sort(rng.choice(len(test), config.attack_points, replace=False)))
    start = time.perf_counter()
    attack = knn_attack(knn, X_test[attacked], y_test[attacked])
    attack_seconds = time.perf_counter() - start
    radii = np.asarray(config.radii)
    return {
        "dataset": dataset.spec.name,
        "method": method.name,
        "split": split,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "n_features": int(X_train.shape[1]),
        "params": {key.removeprefix("metric_learner__"): float(value)
                   for key, value in _values_used(knn, params).items()},
        **method.describe(),
        "select": config.select,
        "search": config.search,
        "cv_score": cv_score,
        "clean_error": float(1.0 - knn.score(X_test, y_test)),
        "noise_error": {f"{s:g}": float(e) for s, e in zip(config.sigmas, noise_mean)},
        "certified_error": {f"{r:g}": float(np.mean(certified <= r)) for r in radii},
        "data_scale": scale,
        "robust_radius": robust_radius,
        "robust_error_at_R": float(np.mean(certified <= robust_radius)),
        "median_certified_radius": float(np.median(certified)),
        "empirical_error": {f"{r:g}": float(e) for r, e in zip(radii,
                                                                 attack.robust_error(radii))},
        "median_attack_norm": float(np.median(attack.norms)),
        "attack_points": int(len(attacked)),
        "fit_seconds": float(fit_seconds),
        "tune_seconds": float(tune_seconds),
        "certify_seconds": float(certify_seconds),
        "attack_seconds": float(attack_seconds),
    }
