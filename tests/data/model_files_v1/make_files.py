"""Write the model files of tests/test_learner_contract.py with the robustdml that wrote format
version 1 before estimators declared their saved state (commit 3d66d20):

    git worktree add /tmp/v1 3d66d20
    PYTHONPATH=/tmp/v1/src python tests/data/model_files_v1/make_files.py

Each file is loaded by the current code and must predict (or transform) as ``expected.npz``,
written here by the estimators that were saved.
"""

from pathlib import Path

import numpy as np

import robustdml
from robustdml import ARML, LMNN, NCA, CertifiedKNN, KNNClassifier, TripletLMNN

HERE = Path(__file__).parent


def main():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(center, 0.6, size=(8, 3)) for center in (0.0, 1.5, 3.0)])
    y = np.repeat(["a", "b", "c"], 8)
    triplets = np.stack([X[:8], X[1:9], X[8:16]], axis=1)
    models = {
        "lmnn": LMNN(perturbation_weight=1.0, max_iter=30, random_state=0).fit(X, y),
        "arml": ARML(max_rounds=1, max_iter=30).fit(X, y),
        "triplet_lmnn": TripletLMNN(max_iter=30).fit(triplets),
        "certified_nca": CertifiedKNN(3, NCA(max_iter=5)).fit(X, y),
        "certified_euclidean": CertifiedKNN(1).fit(X, y),
        "knn_lmnn": KNNClassifier(3, LMNN(n_components=2, max_iter=30, random_state=0)).fit(X, y),
    }
    expected = {"X": X, "triplets": triplets}
    for name, model in models.items():
        robustdml.save(model, HERE / f"{name}.npz")
        if hasattr(model, "certified_radius"):
            expected[f"{name}/radius"] = model.certified_radius(X)
        if isinstance(model, TripletLMNN):
            expected[f"{name}/output"] = model.decision_function(triplets)
        elif hasattr(model, "predict"):
            expected[f"{name}/output"] = model.predict(X)
        else:
            expected[f"{name}/output"] = model.transform(X)
    np.savez(HERE / "expected.npz", **expected)


# pytest --doctest-modules imports this file: writing at import would replace the old files
# under test with files from the current code
if __name__ == "__main__":
    main()
