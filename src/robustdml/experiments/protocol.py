"""The evaluation protocol (:doc:`/user_guide/method`, section 7): one (data set, method, split)
cell.

A cell runs five steps, each a function here:

1. split (:func:`split_indices`): the data set's split number ``split`` (or the source's
   own split);
2. scale (:func:`scale_split`): the preprocessing fitted on the training part (or, as
   the authors did, on the whole data), and the data scale of the preprocessed training part;
3. tune (:func:`tune`): the method's hyper-parameters chosen by k-fold cross-validation of
   candidate settings on the training part only, then the refit on all of it;
4. evaluate (:func:`evaluate`): on the test part, the clean error, the error under Gaussian
   noise, the certified robust error and radius, the attack's empirical robust error, and
   timings;
5. record (:func:`make_record`): all of it as one JSON-ready record, with every learner fit's
   iterations, convergence and warnings, and the other warnings the cell raised
   (:mod:`~robustdml.experiments.recording`).

:func:`run_cell` runs them. Nothing from the test part reaches preprocessing (unless asked),
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

from ..estimators import ARML, LMNN, NCA, RobustFineTuner
from ..evaluation import CertifiedKNN, knn_attack, noise_error
from ..evaluation.scoring import make_certified_scorer
from ..math import data_scale
from .recording import (FitOncePerData, FitRecorder, FitStore, catching_warnings,
                        count_warnings)


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
        # a float margin, for the cell to scale (stage 2 sets the loss's weight and margin)
        "lmnn-pl-staged": Method("lmnn-pl-staged", LMNN(perturbation_margin=0.1), lmnn_space,
                                 margin, (loss_space,)),
        "nca": Method("nca", NeighborhoodComponentsAnalysis(random_state=0)),
        "nca-pl": Method("nca-pl", NCA(perturbation_weight=1.0, perturbation_margin=0.2),
                         loss_space, margin),
        "nca+pl-finetune": Method("nca+pl-finetune", RobustFineTuner(
            NCA(random_state=0), perturbation_weight=1.0, perturbation_margin=0.2), loss_space,
            margin),
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
    """Step 1 of a cell: the (train, test) indices of split number ``split``: the data
    source's own split when it ships them (and ``config.use_source_splits``), else a
    stratified random split seeded by ``config.seed + split``."""
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
    # ParameterSampler draws in sorted key order: sampling under the names the study's records
    # were drawn with keeps a seed's candidates (and so the committed records) as they were
    former = {new: old for old, new in RENAMED_PARAMETERS.items()}
    current = dict(zip(former.values(), former.keys()))
    draws = ParameterSampler({former.get(key, key): value for key, value in space.items()},
                             n_iter=max(budget - 1, 0), random_state=seed)
    return [{}] + [{f"metric_learner__{current.get(key, key)}":
                    [value * scale if current.get(key, key) in scaled else value]
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


@dataclass
class CellData:
    """A cell's data after its split and scale steps.

    Attributes
    ----------
    train, test : ndarray of int
        Indices of the split's training and test part in the data set.
    X_train, X_test, y_train, y_test : ndarray
        The two parts, preprocessed by a pipeline fitted on the training part (or, with
        ``preprocessing="whole"``, on all the data).
    scale : float
        :func:`data_scale` of the preprocessed training part.
    robust_radius : float
        R, the configuration's relative radius times ``scale``.
    """

    train: np.ndarray
    test: np.ndarray
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    scale: float
    robust_radius: float


@dataclass
class TunedModel:
    """What the tune step hands to the evaluate step.

    Attributes
    ----------
    knn : CertifiedKNN
        The classifier with the chosen settings, fitted on the whole training part.
    params : dict
        The chosen value of every searched parameter (empty for an untuned method).
    cv_score : float or None
        The chosen candidate's cross-validated score (None for an untuned method).
    fit_seconds : float
        Seconds of the final fit.
    tune_seconds : float
        Seconds of the whole step: every cross-validation fit and the final one.
    """

    knn: object
    params: dict
    cv_score: Optional[float]
    fit_seconds: float
    tune_seconds: float


def scale_split(dataset, train, test, config):
    """Step 2 of a cell (step 1 is :func:`split_indices`): the split's two parts, preprocessed
    by a pipeline fitted on the training part alone (unless ``config.preprocessing ==
    "whole"``), and the data scale and robust radius R measured on the preprocessed training
    part.

    Returns
    -------
    CellData
    """
    prep = preprocessing(dataset.spec.pca_components, config.scaling)
    prep.fit(dataset.X if config.preprocessing == "whole" else dataset.X[train])
    X_train = prep.transform(dataset.X[train])
    y_train = dataset.y[train]
    scale = data_scale(X_train, y_train)
    return CellData(train, test, X_train, prep.transform(dataset.X[test]), y_train,
                    dataset.y[test], scale, config.relative_radius * scale)


def tune(method, data, config, seed, recorder):
    """Step 3 of a cell: choose ``method``'s settings by cross-validation on the training part
    alone, one search per stage (each stage's best fixed for the next), and fit the chosen
    classifier on the whole training part; an untuned method is just fitted.

    Parameters in ``method.scaled`` (the learner's and the drawn candidates' alike) are
    multiplied by the data scale first. Every learner fit goes through ``recorder``
    (a :class:`~robustdml.experiments.recording.FitRecorder`), which notes it. A
    :class:`~robustdml.RobustFineTuner`'s base estimator is fitted once per training set
    (:class:`~robustdml.experiments.recording.FitOncePerData`), not once per candidate.

    Returns
    -------
    TunedModel
    """
    learner = None if method.learner is None else clone(method.learner)
    if isinstance(learner, RobustFineTuner) and hasattr(learner.base, "fit"):
        # the base does not depend on the candidate: fit it once per fold, not per candidate
        learner.set_params(base=FitOncePerData(learner.base, FitStore()))
    if method.scaled:
        learner.set_params(**{key: learner.get_params()[key] * data.scale
                              for key in method.scaled})
    knn = CertifiedKNN(config.n_neighbors, learner, memory=recorder)
    scoring = (make_certified_scorer(data.robust_radius) if config.select == "certified"
               else None)
    start = time.perf_counter()
    if method.stages:
        folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=seed)
        for number, space in enumerate(method.stages, 1):
            recorder.stage = number
            last = number == len(method.stages)
            grid = candidate_grid(space, config.budget, seed, method.scaled, data.scale)
            if config.search == "halving":
                # every candidate on a third of a third of the data, the best third on a
                # third, the best on all of it: budget 9 costs about 1.5 full fits per fold
                search = HalvingGridSearchCV(knn, grid, factor=3, scoring=scoring, cv=folds,
                                             random_state=seed, refit=last)
            else:
                search = GridSearchCV(knn, grid, scoring=scoring, cv=folds, refit=last)
            search.fit(data.X_train, data.y_train)
            if not last:  # fix this stage's best for the next
                knn = clone(knn).set_params(**search.best_params_)
        knn, cv_score = search.best_estimator_, search.best_score_
        params = {key: _value_used(knn, key) for space in method.stages for key in space}
        fit_seconds = search.refit_time_
    else:
        fit_start = time.perf_counter()
        knn.fit(data.X_train, data.y_train)
        fit_seconds = time.perf_counter() - fit_start
        params, cv_score = {}, None
    recorder.mark_final()
    return TunedModel(knn, params, cv_score, fit_seconds, time.perf_counter() - start)


def _value_used(knn, key):
    """A tuned parameter's value; one left at "auto", what the fitted learner used (its
    attribute of the same name with a trailing underscore, e.g. ``pull_weight_``)."""
    value = knn.get_params()[f"metric_learner__{key}"]
    if isinstance(value, str) and value == "auto":
        return getattr(knn.metric_learner_, f"{key}_")
    return value


def evaluate(knn, data, config, seed):
    """Step 4 of a cell: measure the fitted classifier on the test part: clean error, error
    under Gaussian noise, certified robust error (at every radius and at R) and median
    certified radius, and the attack's empirical robust error on up to
    ``config.attack_points`` test points (a seeded subsample).

    Returns
    -------
    dict
        The record's measurements and their timings.
    """
    start = time.perf_counter()
    certified = knn.certified_radius(data.X_test, data.y_test)
    certify_seconds = time.perf_counter() - start
    noise_mean, _ = noise_error(knn, data.X_test, data.y_test, config.sigmas,
                                config.noise_draws, random_state=seed)
    rng = np.random.default_rng(seed)
    n_test = len(data.y_test)
    attacked = (np.arange(n_test) if n_test <= config.attack_points
                else np.sort(rng.choice(n_test, config.attack_points, replace=False)))
    start = time.perf_counter()
    attack = knn_attack(knn, data.X_test[attacked], data.y_test[attacked])
    attack_seconds = time.perf_counter() - start
    radii = np.asarray(config.radii)
    return {
        "clean_error": float(1.0 - knn.score(data.X_test, data.y_test)),
        "noise_error": {f"{s:g}": float(e) for s, e in zip(config.sigmas, noise_mean)},
        "certified_error": {f"{r:g}": float(np.mean(certified <= r)) for r in radii},
        "robust_error_at_R": float(np.mean(certified <= data.robust_radius)),
        "median_certified_radius": float(np.median(certified)),
        "empirical_error": {f"{r:g}": float(e) for r, e in zip(radii,
                                                                 attack.robust_error(radii))},
        "median_attack_norm": float(np.median(attack.norms)),
        "attack_points": int(len(attacked)),
        "certify_seconds": float(certify_seconds),
        "attack_seconds": float(attack_seconds),
    }


def make_record(dataset, method, split, config, data, tuned, measured, fits, caught):
    """Step 5 of a cell: its JSON-ready record: what the cell was (data set, method, split,
    sizes, search space, selection rule), what tuning chose, what ``evaluate`` measured, the
    learner fits the :class:`~robustdml.experiments.recording.FitRecorder` noted (``fits``),
    and the warnings raised outside them (``caught``, counted)."""
    return {
        "dataset": dataset.spec.name,
        "method": method.name,
        "split": split,
        "n_train": int(len(data.train)),
        "n_test": int(len(data.test)),
        "n_features": int(data.X_train.shape[1]),
        "params": {key: float(value) for key, value in tuned.params.items()},
        **method.describe(),
        "select": config.select,
        "search": config.search,
        "cv_score": tuned.cv_score,
        "data_scale": data.scale,
        "robust_radius": data.robust_radius,
        **measured,
        "fit_seconds": float(tuned.fit_seconds),
        "tune_seconds": float(tuned.tune_seconds),
        "fits": fits,
        "warnings": count_warnings(caught),
    }


def run_cell(dataset, method, split, config, memory=None):
    """Evaluate one method on one split of one data set; returns a JSON-ready record.

    The steps: :func:`split_indices`, :func:`scale_split`, :func:`tune` (which fits),
    :func:`evaluate` and :func:`make_record`. Every warning is caught and recorded, none
    shown: a learner fit's with that fit (``fits``), the others in ``warnings``.

    Parameters
    ----------
    dataset : Dataset
        From :func:`robustdml.datasets.load`.
    method : Method
    split : int
        The split's number; its seed is ``config.seed + split``.
    config : ProtocolConfig
    memory : str or joblib.Memory, optional
        A cache of the fitted metrics.

    Returns
    -------
    dict
    """
    seed = config.seed + split
    recorder = FitRecorder(memory)
    with catching_warnings() as caught:
        train, test = split_indices(dataset, split, config)
        data = scale_split(dataset, train, test, config)
        tuned = tune(method, data, config, seed, recorder)
        measured = evaluate(tuned.knn, data, config, seed)
    return make_record(dataset, method, split, config, data, tuned, measured, recorder.fits,
                       caught)
