"""LMNN from triplet constraints (weak supervision), optionally with the perturbation loss."""

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_array, check_is_fitted

from .._compat import Hidden, Interval, StrOptions, _fit_context
from ..math import LMNNLoss, TripletObjective, TripletSet
from ._learner import MetricLearner, fill_shared_docs
from .lmnn import _drift_weight


def _check_triplets(triplets, n_features=None):
    """``triplets`` as a float array of shape (n_triplets, 3, n_features), with a clear error."""
    triplets = check_array(triplets, allow_nd=True, dtype=float, input_name="triplets")
    if triplets.ndim != 3 or triplets.shape[1] != 3:
        raise ValueError("triplets must have shape (n_triplets, 3, n_features), each row "
                         f"(anchor, closer, farther); got shape {triplets.shape}.")
    if n_features is not None and triplets.shape[2] != n_features:
        raise ValueError(f"triplets have {triplets.shape[2]} features, but the metric was "
                         f"learned on {n_features}.")
    return triplets


@fill_shared_docs
class TripletLMNN(MetricLearner):
    r"""LMNN learned from triplet constraints instead of class labels, with the perturbation loss.

    Each constraint ``(a, b, c)`` says that the anchor a should be closer to b than to c (as
    metric-learn's triplet learners take them). The objective is LMNN's [2]_ on these
    triplets, b as the target and c as the impostor, with the perturbation loss of Yang et al.
    [1]_ when ``perturbation_weight > 0`` (see the Notes). ``decision_function``, ``predict``
    and ``score`` take triplets too, so scikit-learn's cross-validation and grid search work
    on them (``GridSearchCV(TripletLMNN(), ...).fit(triplets)``).

    Parameters
    ----------
    {pull_weight}
    {perturbation_weight}
    {perturbation_margin}
    {drift_weight}
    {solver}
    {n_components}
    {init}
    {max_iter}
    {tol}
    {smoothing}
    {callback}
    {verbose}
    {random_state}
    {regularisation}

    Attributes
    ----------
    {components_}
    {n_iter_}
    {objective_}
    n_triplets_ : int
        Number of triplet constraints fitted.
    {n_features_in_}

    See Also
    --------
    LMNN : The same objective on triplets built from class labels.

    Notes
    -----
    TripletLMNN minimizes

    .. math::

        \frac{\mu}{|B|} \sum_{(a, b) \in B} d_M^2(a, b)
        + \frac{1 - \mu}{|T|} \sum_{(a, b, c) \in T} [1 + d_M^2(a, b) - d_M^2(a, c)]_+
        + \frac{\lambda}{|T|} \sum_{(a, b, c) \in T} [\tau^2 - m_{abc}(M)^2]_+
        + r \, g(M_0) \frac{\|M - M_0\|_F^2}{\|M_0\|_F^2}

    with B the distinct (anchor, closer) pairs, :math:`m_{abc}` the adversarial margin of the
    triplet (the smallest perturbation of a that makes it as close to c as to b) and the
    regularizer as in :class:`LMNN`. ``init="lda"`` needs class labels and is refused.

    References
    ----------
    .. [1] X. Yang, Y. Guo, M. Dong and J.-H. Xue, "Towards Certified Robustness of Distance
       Metric Learning", arXiv:2006.05945, 2020.
    .. [2] K. Q. Weinberger and L. K. Saul, "Distance Metric Learning for Large Margin Nearest
       Neighbor Classification", Journal of Machine Learning Research, 10:207-244, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml import TripletLMNN
    >>> rng = np.random.default_rng(0)
    >>> points = rng.normal(size=(300, 3, 2))
    >>> closer = np.abs(points[:, 0, 0] - points[:, 1, 0]) < np.abs(points[:, 0, 0] - points[:, 2, 0])
    >>> triplets = np.where(closer[:, None, None], points, points[:, [0, 2, 1]])
    >>> TripletLMNN().fit(triplets).score(triplets) > 0.95
    True
    """

    _learns_from_labels = False

    _saved_attributes = ("components_", "n_iter_", "objective_", "n_triplets_",
                         "n_features_in_")

    _parameter_constraints: dict = {
        **MetricLearner._parameter_constraints,
        "pull_weight": [Interval(Real, 0, 1, closed="both")],
        "drift_weight": [Interval(Real, 0, None, closed="left")],
        "regularisation": [Interval(Real, 0, None, closed="left"),
                           Hidden(StrOptions({"deprecated"}))],
    }

    #: Deprecated parameter names, each with the one that replaced it (model files written
    #: before the rename load with the new name).
    _renamed_parameters = {"regularisation": "drift_weight"}

    _metric_learn_arguments: dict = {
        "preprocessor": lambda value, arguments: (
            "pass the triplets as points, shape (n_triplets, 3, n_features) (X[indices] for "
            "triplets of indices), preprocessed beforehand"),
    }

    def __init__(self, *, pull_weight=0.25, perturbation_weight=0.0, perturbation_margin=0.1,
                 drift_weight=0.1, solver="lbfgs", n_components=None, init="auto",
                 max_iter=1000, tol=None, smoothing=0.5, callback=None, verbose=0,
                 random_state=None, regularisation="deprecated"):
        super().__init__(perturbation_weight=perturbation_weight,
                         perturbation_margin=perturbation_margin, solver=solver,
                         n_components=n_components, init=init, max_iter=max_iter, tol=tol,
                         smoothing=smoothing, callback=callback, verbose=verbose,
                         random_state=random_state)
        self.pull_weight = pull_weight
        self.drift_weight = drift_weight
        self.regularisation = regularisation

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, triplets, y=None):
        """Learn the metric from triplet constraints.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features)
            Each row (anchor, closer, farther).
        y : None
            Ignored; present for scikit-learn's API.

        Returns
        -------
        TripletLMNN
            The fitted learner, ``self``.

        Raises
        ------
        ValueError
            If ``triplets`` does not have shape (n_triplets, 3, n_features).

        See Also
        --------
        score : Fraction of triplets the learned metric satisfies.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml import TripletLMNN
        >>> triplets = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]],
        ...                      [[1.0, 1.0], [2.0, 1.0], [1.0, 3.0]]])
        >>> model = TripletLMNN().fit(triplets)
        >>> model.components_.shape
        (2, 2)
        """
        triplets = _check_triplets(triplets)
        n_triplets, _, n_features = triplets.shape
        # each distinct point once: distances are then computed once per pair of points
        X, index = np.unique(triplets.reshape(-1, n_features), axis=0, return_inverse=True)
        index = index.reshape(n_triplets, 3)
        triplet_set = TripletSet.from_indices(index[:, 0], index[:, 1], index[:, 2], len(X))
        self.n_features_in_ = n_features
        L0 = self._initial_components(X)
        objective = TripletObjective(
            X, triplet_set, [LMNNLoss(self.pull_weight), *self.perturbation_losses()],
            smoothing=self._solver_smoothing)
        drift_weight = _drift_weight(self)
        if drift_weight > 0:
            objective.add_drift_penalty(drift_weight, L0)
        result = self._minimize(objective, L0, len(X))
        self._store(result)
        self._finish(result, f"; {n_triplets} triplets, {np.mean(self.predict(triplets) == 1):.4f}"
                             " satisfied")
        return self

    def decision_function(self, triplets):
        """Return how much farther each triplet's third point is than its second.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features)
            Each row (anchor, closer, farther).

        Returns
        -------
        ndarray of shape (n_triplets,)
            ``d2_M(anchor, farther) - d2_M(anchor, closer)``: positive where the learned metric
            agrees with the triplet.

        See Also
        --------
        predict : The sign of this value.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml import TripletLMNN
        >>> triplets = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]],
        ...                      [[1.0, 1.0], [2.0, 1.0], [1.0, 3.0]]])
        >>> model = TripletLMNN().fit(triplets)
        >>> model.decision_function(triplets).shape
        (2,)
        """
        check_is_fitted(self)
        triplets = _check_triplets(triplets, self.n_features_in_)
        embedded = triplets @ self.components_.T
        return (np.sum((embedded[:, 0] - embedded[:, 2]) ** 2, axis=1)
                - np.sum((embedded[:, 0] - embedded[:, 1]) ** 2, axis=1))

    def predict(self, triplets):
        """Predict whether the learned metric satisfies each triplet.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features)
            Each row (anchor, closer, farther).

        Returns
        -------
        ndarray of shape (n_triplets,)
            +1 where the anchor is strictly closer to the second point than to the third,
            else -1.

        See Also
        --------
        decision_function : The difference of squared distances.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml import TripletLMNN
        >>> triplets = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]],
        ...                      [[1.0, 1.0], [2.0, 1.0], [1.0, 3.0]]])
        >>> model = TripletLMNN().fit(triplets)
        >>> model.predict(triplets)
        array([1, 1])
        """
        return np.where(self.decision_function(triplets) > 0, 1, -1)

    def score(self, triplets, y=None):
        """Return the fraction of the triplets the learned metric satisfies.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features)
            Each row (anchor, closer, farther).
        y : None
            Ignored; present for scikit-learn's API.

        Returns
        -------
        float
            The fraction of triplets whose :meth:`predict` is +1.

        See Also
        --------
        predict : The prediction per triplet.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml import TripletLMNN
        >>> triplets = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]],
        ...                      [[1.0, 1.0], [2.0, 1.0], [1.0, 3.0]]])
        >>> model = TripletLMNN().fit(triplets)
        >>> model.score(triplets)
        1.0
        """
        return float(np.mean(self.predict(triplets) == 1))
