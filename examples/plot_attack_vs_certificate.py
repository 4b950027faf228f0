"""
Attack norms against certified radii
====================================

Two numbers bracket how robust a k-NN prediction is. The **certified radius**
(:meth:`robustdml.CertifiedKNN.certified_radius`) is a lower bound: no perturbation shorter
than it changes the prediction. The **attack** (:func:`robustdml.knn_attack`) searches for a
short perturbation that does change it; the norm of what it finds is an upper bound. The
smallest perturbation that flips the prediction lies between the two.

Each dot is one test digit under 3-NN with an LMNN-PL metric. Look at the diagonal: every dot
lies on or above it (an attack shorter than a certificate would be a bug in one of the two),
and the closer a dot is to it, the better the two bounds pin down the true robustness of that
prediction.
"""

# %%
# A certified classifier
# ----------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from robustdml import LMNN, CertifiedKNN, knn_attack
from robustdml.metrics import data_scale
from robustdml.preprocessing import paper_preprocessing

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=500, test_size=150,
                                                    stratify=y, random_state=0)
preprocessing = paper_preprocessing().fit(X_train)
X_train, X_test = preprocessing.transform(X_train), preprocessing.transform(X_test)
scale = data_scale(X_train, y_train)
learner = LMNN(perturbation_weight=10.0, perturbation_margin=0.3 * scale, random_state=0)
knn = CertifiedKNN(n_neighbors=3, metric_learner=learner).fit(X_train, y_train)
print(f"test accuracy {knn.score(X_test, y_test):.3f}")

# %%
# Both bounds for every test point
# --------------------------------
# Without labels, both speak of changing the *prediction*, right or wrong.
radii = knn.certified_radius(X_test)
attack = knn_attack(knn, X_test)
assert np.all(attack.norms >= radii), "an attack beat a certificate"
certified = radii > 0  # a tied vote has radius 0
ratio = attack.norms[certified] / radii[certified]
print(f"attack found a flip for {attack.success.mean():.0%} of the points")
print(f"median certified radius {np.median(radii):.3f}, median attack norm "
      f"{np.median(attack.norms):.3f}")
print(f"attack norm / certified radius: median {np.median(ratio):.2f}, "
      f"max {ratio.max():.2f}")

# %%
# The scatter
# -----------
# Points colored by whether the clean prediction is right; both axes in the same units.
correct = knn.predict(X_test) == y_test
fig, ax = plt.subplots(figsize=(6.2, 5.6), layout="constrained")
limit = 1.05 * attack.norms.max()
ax.fill_between([0, limit], [0, 0], [0, limit], color="#D55E00", alpha=0.08,
                label="impossible: attack below certificate")
ax.plot([0, limit], [0, limit], color="#555555", ls="--", lw=1.2,
        label="attack norm = certified radius")
ax.scatter(radii[correct], attack.norms[correct], s=22, color="#0072B2",
           label="correctly classified")
ax.scatter(radii[~correct], attack.norms[~correct], s=50, marker="^", color="#E69F00",
           edgecolor="k", label="misclassified")
ax.set_xlim(0, limit)
ax.set_ylim(0, limit)
ax.set_aspect("equal")
ax.set_xlabel("certified radius (lower bound, L2, unit-norm inputs)")
ax.set_ylabel("norm of the attack's perturbation (upper bound)")
ax.set_title(f"3-NN with LMNN-PL on digits: {len(X_test)} test points")
ax.grid(alpha=0.3)
ax.legend(loc="lower right")
plt.show()
