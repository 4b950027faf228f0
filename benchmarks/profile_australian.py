"""Where LMNN-PL's fit time goes on the authors' Australian splits, per solver.

    python benchmarks/profile_australian.py ../shared/data/Australian.mat [SPLIT ...]

For each split: fit time, iterations, objective evaluations and the share of the fit spent in
them. Both solvers call the same objective, so their time ratio is about pgd's iterations over
L-BFGS's evaluations.
"""

import argparse
import time
import warnings

from robustdml.datasets import load_authors_mat
from robustdml.estimators import LMNN
from robustdml.math import TripletObjective
from robustdml.preprocessing import paper_preprocessing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("splits", nargs="*", type=int, default=[0, 2, 13])
    args = parser.parse_args()
    data = load_authors_mat(args.path)
    X = paper_preprocessing().fit_transform(data.X)
    spent = {"calls": 0, "seconds": 0.0}
    evaluate = TripletObjective.value_and_gradient_M

    def counted(self, L):
        start = time.perf_counter()
        try:
            return evaluate(self, L)
        finally:
            spent["calls"] += 1
            spent["seconds"] += time.perf_counter() - start

    warnings.simplefilter("ignore")
    LMNN().fit(X[data.train[0]], data.y[data.train[0]])  # warm-up: first-call costs untimed
    TripletObjective.value_and_gradient_M = counted
    for split in args.splits:
        mu, lam, tau = data.tuned[split]
        train = data.train[split]
        for solver in ("lbfgs", "pgd"):
            spent.update(calls=0, seconds=0.0)
            model = LMNN(pull_weight=mu, perturbation_weight=lam, perturbation_margin=tau,
                         solver=solver, max_iter=data.settings["max_iter"],
                         tol=data.settings["eta"] if solver == "pgd" else None)
            start = time.perf_counter()
            model.fit(X[train], data.y[train])
            total = time.perf_counter() - start
            print(f"split {split} (lambda {lam:.3g}) {solver}: {total * 1e3:.1f} ms, "
                  f"{model.n_iter_} iterations, {spent['calls']} evaluations taking "
                  f"{spent['seconds'] * 1e3:.1f} ms ({spent['seconds'] / total:.0%})")


if __name__ == "__main__":
    main()
