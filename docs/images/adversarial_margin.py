"""Draw adversarial_margin.png for the user guide: python docs/images/adversarial_margin.py."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from robustdml import adversarial_margin

anchor, target, impostor = np.array([0.0, 0.0]), np.array([0.9, 0.6]), np.array([-0.4, 1.6])
metrics = {"Euclidean metric, M = I": np.eye(2),
           "a learned metric, M = L^T L": np.array([[0.4, 0.0], [0.0, 3.0]])}

fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
for ax, (title, M) in zip(axes, metrics.items()):
    margin, example = adversarial_margin(anchor[None], target[None], impostor[None], M=M,
                                         return_examples=True)
    # points equally far from target and impostor under M: normal M (target - impostor)
    normal = M @ (target - impostor)
    offset = target @ M @ target - impostor @ M @ impostor
    xs = np.linspace(-1.5, 1.5, 2)
    ax.plot(xs, (offset / 2 - normal[0] * xs) / normal[1], color="0.4", ls="--",
            label="equally far from target and impostor")
    ax.add_patch(plt.Circle(anchor, margin[0], color="tab:green", alpha=0.2,
                            label="certified ball, radius m"))
    ax.annotate("", example[0], anchor, arrowprops={"arrowstyle": "->", "color": "tab:red"})
    ax.scatter(*anchor, c="tab:blue", s=60, zorder=3, label="anchor x_i")
    ax.scatter(*target, c="tab:blue", marker="s", s=60, zorder=3, label="target x_j")
    ax.scatter(*impostor, c="tab:orange", marker="^", s=70, zorder=3, label="impostor x_l")
    ax.scatter(*example[0], c="tab:red", marker="x", s=60, zorder=3,
               label="closest adversarial example")
    ax.set(title=f"{title}: m = {margin[0]:.2f}", xlim=(-1.5, 1.5), ylim=(-1.0, 2.0), aspect="equal")
axes[0].legend(loc="lower left", fontsize=7)
fig.tight_layout()
fig.savefig(Path(__file__).with_suffix(".png"), dpi=110)
