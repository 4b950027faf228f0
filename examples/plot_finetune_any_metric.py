"""
Making another learner's metric robust
======================================

:class:`robustdml.RobustFineTuner` takes a metric learned by anything linear (here
scikit-learn's ``NeighborhoodComponentsAnalysis`` and ``LinearDiscriminantAnalysis``) and
fine-tunes it with the perturbation loss, near where it was. The figure compares, for each
base, the certified robust error of a 3-NN classifier under the base metric and under its
fine-tuned version: the fraction of test points that are misclassified or whose prediction
a perturbation of L2 norm at most r can change.
"""

# %%
# Data and base metrics
# ---------------------
# The study's preprocessing (standardize, then unit-norm rows) on breast cancer data. The
# base metrics are fitted first and passed frozen (``FrozenEstimator``), so that the tuner
# uses them as they are.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from robustdml import CertifiedKNN, RobustFineTuner
from robustdml.metrics import data_scale

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
prep = make_pipeline(StandardScaler(), Normalizer()).fit(X_train)
X_train, X_test = prep.transform(X_train), prep.transform(X_test)
scale = data_scale(X_train, y_train)  # median distance to the nearest other-class point
bases = {"scikit-learn NCA": NeighborhoodComponentsAnalysis(random_state=0),
         "scikit-learn LDA": LinearDiscriminantAnalysis()}

# %%
# Fine-tuning
# -----------
# ``perturbation_margin`` asks every training triplet for an adversarial margin of 0.2 data
# scales; ``drift_weight`` keeps the metric near the base. ``perturbation_weight=0`` gives
# the base metric itself, through the same code.
radii = np.linspace(0, 0.3 * scale, 61)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, (name, base) in zip(axes, bases.items()):
    frozen = FrozenEstimator(base.fit(X_train, y_train))
    for label, weight, style in [("base metric", 0.0, "--"), ("fine-tuned", 1.0, "-")]:
        tuner = RobustFineTuner(frozen, perturbation_weight=weight,
                                perturbation_margin=0.2 * scale)
        knn = CertifiedKNN(3, tuner).fit(X_train, y_train)
        certified = knn.certified_radius(X_test, y_test)
        error = [np.mean(certified <= r) for r in radii]
        ax.plot(radii / scale, error, style, label=label)
        print(f"{name}, {label}: clean error {1 - knn.score(X_test, y_test):.3f}, "
              f"certified robust error at 0.1 scale {np.mean(certified <= 0.1 * scale):.3f}")
    ax.set_title(name)
    ax.set_xlabel("radius r (data scales)")
    ax.legend()
axes[0].set_ylabel("certified robust error")
fig.tight_layout()
plt.show()

# %%
# LDA's metric on two classes has one direction, along which nearly every test point lies
# close to a point of the other class: almost no point is certified at 0.1 scale. The tuner
# keeps the rank, one direction, and turns it so that the margins widen. NCA's metric starts
# far more robust and gains less. Both keep their clean error (the printed lines).
