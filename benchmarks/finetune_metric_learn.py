"""metric-learn's side of finetune.py, run in metric-learn's environment (scikit-learn < 1.6).

    .bench/ml-venv/bin/python benchmarks/finetune_metric_learn.py FOLDER

For every ``FOLDER/<data set>-<split>.npz`` (the training part, X and y, as finetune.py wrote
it), fits ITML, LSML (their supervised forms, constraints drawn from the labels) and LFDA, and
writes each Mahalanobis matrix to ``FOLDER/<data set>-<split>-<learner>.npy``. A learner that
fails on a data set (an error, or an M that is not finite and real) is reported and
skipped.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from metric_learn import ITML_Supervised, LFDA, LSML_Supervised

LEARNERS = {
    "ITML": lambda: ITML_Supervised(random_state=0),
    "LSML": lambda: LSML_Supervised(random_state=0),
    "LFDA": lambda: LFDA(),
}


def main(folder):
    for path in sorted(Path(folder).glob("*.npz")):
        data = np.load(path)
        # integer labels: metric-learn's constraint sampling fails on string labels
        y = np.unique(data["y"], return_inverse=True)[1]
        for name, make in LEARNERS.items():
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    M = make().fit(data["X"], y).get_mahalanobis_matrix()
            except Exception as error:  # reported: the table then lacks this cell
                print(f"{path.stem} {name}: failed ({type(error).__name__}: {error})",
                      flush=True)
                continue
            M = np.real_if_close(M)
            if np.iscomplexobj(M) or not np.all(np.isfinite(M)):  # LFDA on digits: NaN
                print(f"{path.stem} {name}: failed (its M is not a finite real matrix)",
                      flush=True)
                continue
            np.save(path.with_name(f"{path.stem}-{name}.npy"), M)
            print(f"{path.stem} {name}: {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
