"""
A 2-D embedding with ``n_components=2``
=======================================

A metric learner with ``n_components=2`` learns a map ``L`` from the 64 pixel features of a
digit to a plane, so that k-NN in that plane works well: a supervised alternative to PCA for
looking at data. The figure places test digits (never seen in training) with PCA, with
:class:`robustdml.LMNN`, with LMNN-PL and with :class:`robustdml.NCA`, each point drawn as
its digit.

Look for the classes that PCA piles on top of each other and that the learned maps pull
apart (the 0s, 4s, 6s and 9s), and at the 3-NN accuracy in each plane (in the titles).
Squeezing 64 features into 2 is a hard task for LMNN: starting from PCA's plane, it gains
only a few points of accuracy, and NCA, whose objective is the nearest-neighbor accuracy
itself, gains more. LMNN-PL's perturbation loss asks for margins in the input space, not in
the plane, so its picture stays close to LMNN's.
"""

# %%
# Data
# ----
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from robustdml import LMNN, NCA, KNNClassifier
from robustdml.metrics import data_scale
from robustdml.preprocessing import paper_preprocessing

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=600, test_size=400,
                                                    stratify=y, random_state=0)
preprocessing = paper_preprocessing().fit(X_train)
X_train, X_test = preprocessing.transform(X_train), preprocessing.transform(X_test)
scale = data_scale(X_train, y_train)

# %%
# Three maps to the plane
# -----------------------
# LMNN with ``n_components=2`` starts from PCA's two directions (``init="auto"``) and moves
# them. ``KNNClassifier`` with each map as its metric learner gives the 3-NN accuracy in the
# plane.
maps = {
    "PCA": PCA(n_components=2, random_state=0),
    "LMNN": LMNN(n_components=2, random_state=0),
    "LMNN-PL": LMNN(n_components=2, perturbation_weight=10.0,
                    perturbation_margin=0.3 * scale, random_state=0),
    "NCA": NCA(n_components=2, random_state=0),
}
embedded, accuracy = {}, {}
for name, transformer in maps.items():
    knn = KNNClassifier(n_neighbors=3, metric_learner=transformer).fit(X_train, y_train)
    accuracy[name] = knn.score(X_test, y_test)
    embedded[name] = knn.metric_learner_.transform(X_test)
    print(f"{name:8s} 3-NN test accuracy in 2-D: {accuracy[name]:.3f}")

# %%
# The planes
# ----------
# Each test point is written as its digit, so the classes read without the colors; the
# colors (matplotlib's ``tab10``) only help the eye.
colors = plt.get_cmap("tab10").colors
fig, axes = plt.subplots(2, 2, figsize=(11, 10), layout="constrained")
for ax, (name, points) in zip(axes.ravel(), embedded.items()):
    points = (points - points.mean(axis=0)) / points.std()  # same spread in every panel
    for digit in range(10):
        for x, y_ in points[y_test == digit]:
            ax.text(x, y_, str(digit), color=colors[digit], fontsize=8, fontweight="bold",
                    ha="center", va="center")
    ax.set_xlim(np.percentile(points[:, 0], [0.5, 99.5]) + np.array([-0.3, 0.3]))
    ax.set_ylim(np.percentile(points[:, 1], [0.5, 99.5]) + np.array([-0.3, 0.3]))
    ax.set_title(f"{name}: 3-NN accuracy {accuracy[name]:.2f}")
    ax.set_xlabel("component 1 (standardized)")
    ax.set_ylabel("component 2 (standardized)")
fig.suptitle(f"{len(X_test)} test digits mapped to 2-D by maps fitted on "
             f"{len(X_train)} training digits")
plt.show()
