"""
Robust model selection with GridSearchCV
========================================

scikit-learn's ``GridSearchCV`` picks the hyper-parameters with the best cross-validated
score. With ``scoring="accuracy"`` it picks the most accurate metric; with the **certified
scorer** :func:`robustdml.metrics.make_certified_scorer` it picks the metric whose 3-NN
classifies the most validation points correctly *with a certified radius above* a given
radius. Both run in one search here (multi-metric scoring), over LMNN's perturbation weight
and margin, inside a ``Pipeline`` that preprocesses first.

Look at the left panel for the candidates the two criteria prefer (they are not the same),
and at the right panel for what the choice means on the held-out test set: the certified
pick gives up little or no clean accuracy and keeps more test points certified at larger
radii.
"""

# %%
# A pipeline to tune
# ------------------
# The certified scorer is asked (``space="classifier"``) to measure the radius where the
# classifier works: on unit-norm rows after standardizing.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from robustdml import LMNN, CertifiedKNN
from robustdml.metrics import make_certified_scorer

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
pipeline = make_pipeline(StandardScaler(), Normalizer(),
                         CertifiedKNN(n_neighbors=3, metric_learner=LMNN(random_state=0)))

# %%
# One search, two criteria
# ------------------------
# ``refit=False``: we refit each criterion's pick ourselves below. The certified score is
# the validation accuracy counting only points certified beyond radius 0.2, measured after
# the Normalizer (``space="classifier"``: a Normalizer is not affine, so radii in raw units
# do not exist for this pipeline).
radius = 0.2
prefix = "certifiedknn__metric_learner__"
grid = [{prefix + "perturbation_weight": [0.0]},
        {prefix + "perturbation_weight": [1.0, 10.0],
         prefix + "perturbation_margin": [0.3, 0.6]}]
search = GridSearchCV(pipeline, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0),
                      scoring={"accuracy": "accuracy",
                               "certified": make_certified_scorer(radius,
                                                                  space="classifier")},
                      refit=False).fit(X_train, y_train)
results = search.cv_results_
picks = {}
for criterion in ("accuracy", "certified"):
    # the first of tied candidates, as GridSearchCV's best_index_ would be
    best = int(np.argmax(results[f"mean_test_{criterion}"]))
    picks[criterion] = best
    print(f"best by {criterion:9s}: {results['params'][best]}  "
          f"(CV accuracy {results['mean_test_accuracy'][best]:.3f}, "
          f"CV certified accuracy {results['mean_test_certified'][best]:.3f})")

# %%
# The two picks on the test set
# -----------------------------
radii = np.linspace(0.0, 0.5, 51)
curves = {}
for criterion, best in picks.items():
    model = make_pipeline(StandardScaler(), Normalizer(),
                          CertifiedKNN(n_neighbors=3, metric_learner=LMNN(random_state=0)))
    model.set_params(**results["params"][best]).fit(X_train, y_train)
    knn, X_seen = model[-1], model[:-1].transform(X_test)
    curves[criterion] = knn.certified_robust_error(X_seen, y_test, radii)
    print(f"picked by {criterion:9s}: test error {curves[criterion][0]:.3f}, "
          f"certified robust error at {radius}: {np.interp(radius, radii, curves[criterion]):.3f}")

# %%
# What each criterion saw, and what it got
# ----------------------------------------
def describe(params):
    weight = params[prefix + "perturbation_weight"]
    if weight == 0:
        return "LMNN"
    return f"lambda={weight:g}, tau={params[prefix + 'perturbation_margin']:g}"


colors = {"accuracy": "#E69F00", "certified": "#0072B2"}
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
left.scatter(results["mean_test_accuracy"], results["mean_test_certified"], s=40,
             color="#999999", label="candidates")
for criterion, best in picks.items():
    left.scatter(results["mean_test_accuracy"][best], results["mean_test_certified"][best],
                 s=220, facecolor="none", edgecolor=colors[criterion], lw=2.5,
                 label=f"best by {criterion}: {describe(results['params'][best])}")
left.set_xlabel("cross-validated accuracy")
left.set_ylabel(f"cross-validated certified accuracy at radius {radius}")
left.set_title("The grid, as the two criteria see it")
left.grid(alpha=0.3)
left.legend(loc="lower left")

for criterion, curve in curves.items():
    right.plot(radii, curve, color=colors[criterion], lw=2,
               ls="-" if criterion == "certified" else "--",
               label=f"picked by {criterion}")
right.axvline(radius, color="#555555", ls=":", lw=1, label="radius used in the search")
right.set_xlabel("radius r (L2 norm, unit-norm inputs)")
right.set_ylabel("test certified robust error at r")
right.set_title("The two picks on the test set")
right.set_ylim(0, 1)
right.grid(alpha=0.3)
right.legend(loc="upper left")
plt.show()
