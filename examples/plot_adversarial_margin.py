"""
The adversarial margin of a triplet
===================================

A triplet is an anchor ``x``, a target neighbor ``t`` of its own class and an impostor ``i``
of another class. The points that are as close to ``i`` as to ``t`` form the decision
boundary ``{z : d(z, t) = d(z, i)}``; the **adversarial margin** is the L2 distance from the
anchor to that boundary, the shortest perturbation that makes the impostor as close as the
target. :func:`robustdml.adversarial_margin` computes it, and the closest adversarial example,
in closed form.

The figure shows one triplet under the Euclidean metric and under a Mahalanobis metric
learned by :class:`robustdml.LMNN`. Look at how the learned metric turns the boundary: the
perturbation is always measured in the input space (a circle around the anchor just touches
the boundary), but the boundary itself moves with the metric.
"""

# %%
# A metric to compare with the Euclidean one
# ------------------------------------------
# Two classes that differ along the first feature (little noise) and along the second (much
# noise). LMNN learns to weigh the first feature more: its map ``L`` stretches it.
import matplotlib.pyplot as plt
import numpy as np

from robustdml import LMNN, adversarial_margin

rng = np.random.RandomState(0)
labels = rng.randint(0, 2, 300)
X = np.c_[labels + rng.normal(0, 0.2, 300), 3.0 * labels + rng.normal(0, 1.5, 300)]
lmnn = LMNN(random_state=0).fit(X, labels)
M_learned = lmnn.get_mahalanobis_matrix()
print("learned L =\n", lmnn.components_.round(2))

# %%
# One triplet, two metrics
# ------------------------
# ``adversarial_margin`` takes arrays of anchors, targets and impostors (one row per
# triplet) and the metric as ``M`` (or ``L``).
anchor = np.array([[0.0, 0.0]])
target = np.array([[-0.4, 0.9]])
impostor = np.array([[1.1, 0.4]])

metrics = {"Euclidean metric": np.eye(2), "metric learned by LMNN": M_learned}
results = {}
for name, M in metrics.items():
    margin, example = adversarial_margin(anchor, target, impostor, M=M, return_examples=True)
    results[name] = margin[0], example[0]
    # the closest adversarial example lies on the boundary: equally far from both points
    d_target = (example - target) @ M @ (example - target).T
    d_impostor = (example - impostor) @ M @ (example - impostor).T
    print(f"{name}: margin {margin[0]:.3f}, "
          f"d2(example, target) - d2(example, impostor) = {(d_target - d_impostor).item():.1e}")

# %%
# Drawing the boundary and the margin
# -----------------------------------
# The shaded half-plane is where the impostor is closer than the target: an anchor moved
# there is misclassified by a 1-NN rule that only knows these two points.
grid = np.linspace(-1.6, 1.6, 300)
gx, gy = np.meshgrid(grid, grid)
points = np.c_[gx.ravel(), gy.ravel()]

fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), sharex=True, sharey=True,
                         layout="constrained")
for ax, (name, M) in zip(axes, metrics.items()):
    margin, example = results[name]
    to_target = np.einsum("ij,jk,ik->i", points - target, M, points - target)
    to_impostor = np.einsum("ij,jk,ik->i", points - impostor, M, points - impostor)
    closer_to_impostor = (to_impostor < to_target).reshape(gx.shape)
    ax.contourf(gx, gy, closer_to_impostor, levels=[0.5, 1.5], colors=["#E69F00"], alpha=0.15)
    ax.contour(gx, gy, (to_target - to_impostor).reshape(gx.shape), levels=[0.0],
               colors="#555555", linestyles="--", linewidths=1.5)
    ax.add_patch(plt.Circle(anchor[0], margin, fill=False, color="#0072B2", lw=1, ls=":"))
    ax.plot(*np.c_[anchor[0], example], color="#0072B2", lw=2.5,
            label="margin (shortest move)")
    ax.scatter(*anchor.T, s=120, color="#0072B2", edgecolor="k", zorder=3, label="anchor x")
    ax.scatter(*target.T, s=120, marker="s", color="#009E73", edgecolor="k", zorder=3,
               label="target t (same class)")
    ax.scatter(*impostor.T, s=140, marker="^", color="#D55E00", edgecolor="k", zorder=3,
               label="impostor i (other class)")
    ax.scatter(*example, s=120, marker="X", color="#CC79A7", edgecolor="k", zorder=4,
               label="closest adversarial example")
    ax.plot([], [], color="#555555", ls="--", label="boundary d(z, t) = d(z, i)")
    ax.set_title(f"{name}: margin {margin:.2f}")
    ax.set_xlabel("feature 1 (input units)")
    ax.set_aspect("equal")
axes[0].set_ylabel("feature 2 (input units)")
axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
fig.suptitle("Adversarial margin: the shortest move of the anchor onto the boundary")
plt.show()
