"""The reference experiments' preprocessing, from scikit-learn parts."""

from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler


def paper_preprocessing():
    """Centre each feature, divide by its population standard deviation, scale rows to unit L2.

    docs/method.md, section 4. Constant features are left at 0 rather than divided by 0.
    """
    return make_pipeline(StandardScaler(), Normalizer(norm="l2"))
