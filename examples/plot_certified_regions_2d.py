"""
Decision regions and certified radii in 2-D
===========================================

A 3-NN classifier under three metrics on the same 2-D problem: the Euclidean metric, the
metric learned by :class:`robustdml.LMNN`, and by LMNN with the perturbation loss (LMNN-PL,
``perturbation_weight > 0``). Each test point is drawn with a circle of its **certified
radius** (:meth:`robustdml.CertifiedKNN.certified_radius`): no perturbation inside the circle
can change the prediction, whatever its direction.

Look at the points near the boundaries between regions: a circle cannot cross into another
region, so it shrinks there. LMNN stretches the space along the direction that separates the
classes, which moves and tilts the boundaries. LMNN-PL asks every training triplet for an
adversarial margin of at least ``perturbation_margin``; with a margin as large as the data
scale it pulls the metric back toward a multiple of the identity, so its regions look like
the Euclidean ones. In two dimensions a metric has little room: the three classifiers certify
similar radii here. The perturbation loss earns its keep with many features (see the digits
example).
"""

# %%
# Data: three stretched blobs
# ---------------------------
# scikit-learn's anisotropic blobs, standardized. ``data_scale`` (the median distance from a
# point to the nearest point of another class) is the unit to give radii and margins in.
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from sklearn.datasets import make_blobs
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from robustdml import LMNN, CertifiedKNN
from robustdml.metrics import data_scale

X, y = make_blobs(n_samples=300, centers=3, random_state=170)
X = StandardScaler().fit_transform(X @ np.array([[0.6, -0.6], [-0.4, 0.8]]))
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
scale = data_scale(X_train, y_train)
print(f"data scale: {scale:.3f}")

# %%
# Three classifiers, certified
# ----------------------------
# ``CertifiedKNN`` fits the metric learner and certifies each test point; given the labels, a
# misclassified point gets radius 0.
learners = {
    "Euclidean": None,
    "LMNN": LMNN(random_state=0),
    "LMNN-PL": LMNN(perturbation_weight=10.0, perturbation_margin=scale, random_state=0),
}
threshold = 0.5 * scale
fitted, radii = {}, {}
for name, learner in learners.items():
    fitted[name] = CertifiedKNN(n_neighbors=3, metric_learner=learner).fit(X_train, y_train)
    radii[name] = fitted[name].certified_radius(X_test, y_test)
    print(f"{name:9s} accuracy {fitted[name].score(X_test, y_test):.3f}  "
          f"median radius {np.median(radii[name]):.3f}  "
          f"certified beyond {threshold:.2f}: {np.mean(radii[name] > threshold):.3f}")
    if learner is not None:
        print("  learned L =", fitted[name].metric_learner_.components_.round(2).tolist())

# %%
# Regions and circles
# -------------------
# The background is the predicted class on a grid; each circle is centered on a test point
# and drawn in its true class's color (an ``x`` marks a misclassified point).
colors = ["#0072B2", "#E69F00", "#009E73"]
grid = np.linspace(-2.6, 2.6, 250)
gx, gy = np.meshgrid(grid, grid)

fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), sharex=True, sharey=True,
                         layout="constrained")
for ax, (name, knn) in zip(axes, fitted.items()):
    regions = knn.predict(np.c_[gx.ravel(), gy.ravel()]).reshape(gx.shape)
    ax.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap=ListedColormap(colors),
                alpha=0.18)
    for point, label, radius in zip(X_test, y_test, radii[name]):
        ax.add_patch(plt.Circle(point, radius, fill=False, lw=0.8, color=colors[label]))
    ax.scatter(*X_test.T, c=[colors[label] for label in y_test], s=8)
    wrong = knn.predict(X_test) != y_test
    ax.scatter(*X_test[wrong].T, marker="x", s=60, color="k", label="misclassified")
    ax.set_title(f"{name}: median radius {np.median(radii[name]):.2f}, "
                 f"accuracy {knn.score(X_test, y_test):.2f}")
    ax.set_xlabel("feature 1 (standardized)")
    ax.set_aspect("equal")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(grid[0], grid[-1])
axes[0].set_ylabel("feature 2 (standardized)")
handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=f"class {i}")
           for i, c in enumerate(colors)]
handles.append(plt.Line2D([], [], color="k", marker="x", ls="", label="misclassified"))
fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
fig.suptitle("3-NN decision regions; each test point with a circle of its certified radius")
plt.show()
