"""scikit-learn's private helpers robustdml builds on, imported in this one place.

``_fit_context`` and ``utils._param_validation`` are how scikit-learn's own estimators validate
their parameters, but they are private: no deprecation cycle protects them. pyproject.toml
bounds scikit-learn to the releases ``make test-compat`` has run the suite on (the oldest
supported and the newest); a new release is admitted by running it there first.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Hidden, Interval, StrOptions

__all__ = ["HasMethods", "Hidden", "Interval", "StrOptions", "_fit_context"]
