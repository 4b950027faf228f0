"""
Learning a metric from triplet constraints
==========================================

Labels are not the only supervision a metric can learn from. A **triplet constraint**
``(a, b, c)`` says "a is closer to b than to c", the kind of answer people give when asked
which of two items is more similar to a third. :class:`robustdml.TripletLMNN` learns a
Mahalanobis metric from such triplets (and, with ``perturbation_weight > 0``, asks each of
them for an adversarial margin, as LMNN-PL does).

Here the triplets come from a hidden metric in 2-D that weighs one direction much more than
the other. Look at the left panel for how few triplets it takes to agree with the hidden
metric on most new triplets, and at the right panel for the shape of the learned metric's
unit ball. With the default ``pull_weight`` LMNN's pull term collapses the weak direction
altogether (a flat ball): triplets that only *compare* distances are better served by
``pull_weight=0``, whose ball takes the hidden one's shape.
"""

# %%
# A hidden metric and the triplets it answers
# -------------------------------------------
# ``make_triplets`` draws random points and orders each (anchor, b, c) so that the hidden
# metric finds the anchor closer to b: the shape ``TripletLMNN.fit`` takes,
# (n_triplets, 3, n_features).
import matplotlib.pyplot as plt
import numpy as np

from robustdml import TripletLMNN

L_hidden = np.array([[2.0, 1.0], [0.0, 0.4]])  # hidden map: d(a, b) = ||L_hidden (a - b)||


def make_triplets(n_triplets, random_state):
    rng = np.random.RandomState(random_state)
    points = rng.normal(size=(n_triplets, 3, 2))
    embedded = points @ L_hidden.T
    closer = (np.sum((embedded[:, 0] - embedded[:, 1]) ** 2, axis=1)
              < np.sum((embedded[:, 0] - embedded[:, 2]) ** 2, axis=1))
    return np.where(closer[:, None, None], points, points[:, [0, 2, 1]])


test_triplets = make_triplets(2000, random_state=1)
to_b = np.sum((test_triplets[:, 0] - test_triplets[:, 1]) ** 2, axis=1)
to_c = np.sum((test_triplets[:, 0] - test_triplets[:, 2]) ** 2, axis=1)
euclidean_score = np.mean(to_b < to_c)
print(f"Euclidean metric satisfies {euclidean_score:.3f} of the test triplets")

# %%
# Learning from more and more triplets
# ------------------------------------
# ``score`` is the fraction of triplets the learned metric satisfies; here on 2,000 new ones.
# LMNN's pull term (``pull_weight``, 0.25 by default) also draws each anchor toward its
# closer point, as if "closer" meant "close". These triplets only compare distances, so we
# also fit with ``pull_weight=0``.
sizes = [10, 20, 40, 80, 160, 320, 640]
pull_weights = {"pull_weight=0.25 (default)": 0.25, "pull_weight=0": 0.0}
scores = {name: [] for name in pull_weights}
learned = {}
for name, pull_weight in pull_weights.items():
    for size in sizes:
        model = TripletLMNN(pull_weight=pull_weight, random_state=0)
        model.fit(make_triplets(size, random_state=0))
        scores[name].append(model.score(test_triplets))
    learned[name] = model.components_
    print(f"{name}: test triplets satisfied "
          + ", ".join(f"{score:.3f}" for score in scores[name]) + f" (for {sizes} triplets)")
    ratio = np.divide(*np.linalg.svd(model.components_, compute_uv=False))
    print(f"  stretch of the metric learned from {sizes[-1]} triplets: {ratio:.1f} "
          f"(hidden: {np.divide(*np.linalg.svd(L_hidden, compute_uv=False)):.1f})")

# %%
# Unit balls
# ----------
# A metric from triplets is known up to scale (doubling L changes no comparison), so each
# unit ball ``{x : ||L x|| <= 1}`` is rescaled to the same longest axis before drawing.
angles = np.linspace(0, 2 * np.pi, 400)
circle = np.c_[np.cos(angles), np.sin(angles)]


def unit_ball(L):
    boundary = circle @ np.linalg.pinv(L).T  # points with ||L x|| = 1
    return boundary / np.linalg.norm(boundary, axis=1).max()


colors = {"pull_weight=0.25 (default)": ("#E69F00", "-."), "pull_weight=0": ("#0072B2", "-")}
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
for name, (color, line) in colors.items():
    left.semilogx(sizes, scores[name], marker="o", ls=line, color=color, lw=2,
                  label=f"TripletLMNN, {name}")
left.axhline(euclidean_score, color="#555555", ls="--", label="Euclidean metric")
left.set_xlabel("training triplets (log scale)")
left.set_ylabel("fraction of 2,000 test triplets satisfied")
left.set_title("Agreement with the hidden metric on new triplets")
left.set_ylim(0.5, 1.02)
left.grid(alpha=0.3)
left.legend(loc="lower right")

right.plot(*unit_ball(L_hidden).T, color="#009E73", lw=4, alpha=0.6, label="hidden metric")
right.plot(*unit_ball(np.eye(2)).T, color="#555555", ls="--", label="Euclidean")
for name, (color, line) in colors.items():
    right.plot(*unit_ball(learned[name]).T, color=color, ls=line, lw=1.8,
               label=f"learned, {name}")
right.set_aspect("equal")
right.set_xlabel("feature 1 (arbitrary units)")
right.set_ylabel("feature 2 (arbitrary units)")
right.set_title(f"Unit balls from {sizes[-1]} triplets")
right.grid(alpha=0.3)
right.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
plt.show()
