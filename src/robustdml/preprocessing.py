"""The reference experiments' preprocessing, from scikit-learn parts."""

from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler


def paper_preprocessing():
    """Make the reference experiments' preprocessing: standardize, then scale rows to unit L2.

    Each feature is centered and divided by its population standard deviation (constant
    features are left at 0 rather than divided by 0), then each row is scaled to unit L2 norm,
    as the authors' experiments do (:doc:`/user_guide/method`, section 4).

    Returns
    -------
    sklearn.pipeline.Pipeline
        An unfitted ``StandardScaler`` followed by ``Normalizer(norm="l2")``.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The first step.
    sklearn.preprocessing.Normalizer : The second step.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from robustdml.preprocessing import paper_preprocessing
    >>> X, y = load_iris(return_X_y=True)
    >>> np.linalg.norm(paper_preprocessing().fit_transform(X), axis=1)[:3].round(6)
    array([1., 1., 1.])
    """
    return make_pipeline(StandardScaler(), Normalizer(norm="l2"))
