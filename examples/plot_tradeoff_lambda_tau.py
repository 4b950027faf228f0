"""
Accuracy against robustness as lambda and tau move
==================================================

LMNN-PL adds the perturbation loss ``lambda/|T| sum [tau^2 - m^2]_+`` to LMNN: every triplet
whose adversarial margin ``m`` is below ``tau`` (``perturbation_margin``) pays, with weight
``lambda`` (``perturbation_weight``). ``lambda = 0`` is plain LMNN.

Each point of the figure is one fitted metric on digits, placed by its clean test error and
its certified robust error at a fixed radius. One path raises lambda from 0 (plain LMNN) with
tau fixed; the other raises tau with lambda fixed, from a tau so small that it asks almost
nothing (the point lands on plain LMNN). Look for the points that move down (more robust)
without moving right (less accurate), and for where a path turns right: asking too much
robustness starts to cost accuracy. With 300 test digits, one digit is 0.0033 of error.
"""

# %%
# Data and the radius we care about
# ---------------------------------
# 400 training and 300 test digits with the reference preprocessing; radii and tau are given
# as fractions of ``data_scale`` (the median distance to the nearest other-class point).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from robustdml import LMNN, CertifiedKNN
from robustdml.metrics import data_scale
from robustdml.preprocessing import paper_preprocessing

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=400, test_size=300,
                                                    stratify=y, random_state=0)
preprocessing = paper_preprocessing().fit(X_train)
X_train, X_test = preprocessing.transform(X_train), preprocessing.transform(X_test)
scale = data_scale(X_train, y_train)
radius = 0.2 * scale
print(f"data scale {scale:.3f}; certified robust error measured at radius {radius:.3f}")

# %%
# Two paths through (lambda, tau)
# -------------------------------
# ``certified_robust_error`` at radius 0 is the clean test error.
weights = [0.0, 1.0, 10.0, 100.0]  # lambda, with tau = 0.3 x scale
margins = [0.1, 0.3, 0.5, 1.0]  # tau / scale, with lambda = 10


def errors(weight, margin):
    """Clean error and certified robust error at ``radius`` of one LMNN-PL fit."""
    learner = LMNN(perturbation_weight=weight, perturbation_margin=margin * scale,
                   random_state=0)
    knn = CertifiedKNN(n_neighbors=3, metric_learner=learner).fit(X_train, y_train)
    return knn.certified_robust_error(X_test, y_test, [0.0, radius])


fits = {(weight, 0.3): errors(weight, 0.3) for weight in weights}
fits.update({(10.0, margin): errors(10.0, margin) for margin in margins if margin != 0.3})
for (weight, margin), (clean, robust) in fits.items():
    print(f"lambda {weight:5g}  tau {margin:.1f} x scale:  clean error {clean:.3f}  "
          f"certified robust error {robust:.3f}")

# %%
# The trade-off plane
# -------------------
# Lower left is better on both counts.
fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
lambda_path = np.array([fits[weight, 0.3] for weight in weights])
tau_path = np.array([fits[10.0, margin] for margin in margins])
ax.plot(*lambda_path.T, "-o", color="#0072B2", ms=8, label="lambda grows (tau = 0.3 x scale)")
ax.plot(*tau_path.T, "--s", color="#D55E00", ms=8, label="tau grows (lambda = 10)")
for weight, (clean, robust) in zip(weights, lambda_path):
    ax.annotate(f"lambda={weight:g}", (clean, robust), xytext=(8, 4),
                textcoords="offset points", color="#0072B2")
# the last two tau points nearly coincide: label the last one on the left
offsets = [(8, -12)] * (len(margins) - 1) + [(-48, -4)]
for margin, (clean, robust), offset in zip(margins, tau_path, offsets):
    ax.annotate(f"tau={margin:g}", (clean, robust), xytext=offset,
                textcoords="offset points", color="#D55E00")
ax.scatter(*lambda_path[0], s=250, facecolor="none", edgecolor="k", zorder=3,
           label="plain LMNN (lambda = 0)")
ax.set_xlabel("clean test error (fraction of test digits)")
ax.set_ylabel(f"certified robust error at radius {radius:.2f}")
ax.set_title("LMNN-PL on digits: what lambda and tau buy and cost")
ax.grid(alpha=0.3)
ax.margins(x=0.25, y=0.1)
ax.legend(loc="upper right")
plt.show()
