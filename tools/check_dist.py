"""Check the sdist and wheel that ``python -m build`` left in a folder (``make dist``).

1. Metadata: ``twine check --strict``, the SPDX license and its file, the console script.
2. Contents: the wheel holds every module of ``src/robustdml`` and nothing else of the
   repository (no tests, docs, study records, benchmarks, examples); the sdist holds what a
   build needs (``python -m build`` builds the wheel from the sdist, so a missing file fails
   there) and none of the study records or docs.
3. The wheel alone: installed into a fresh virtual environment, the quick start runs from a
   folder outside the repository (so the installed package is imported, not ``src/``), and so
   do ``robustdml --help`` and ``robustdml --version``.

Usage: ``python tools/check_dist.py dist``; exits non-zero with the reasons on failure.
"""

import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "src" / "robustdml"
#: Top-level folders of the repository that a distribution must not carry.
NOT_SHIPPED = ("tests", "docs", "study", "benchmarks", "examples", ".ci", "tools")

#: The quick start (fit LMNN with the perturbation loss, compare with the Euclidean metric,
#: certify), with checks of what it prints and of where robustdml was imported from.
QUICK_START = """
import sys
from pathlib import Path

import robustdml
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from robustdml import CertifiedKNN, LMNN
from robustdml.preprocessing import paper_preprocessing

installed = Path(robustdml.__file__).resolve()
assert Path(sys.prefix).resolve() in installed.parents, f"robustdml imported from {installed}"

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
prep = paper_preprocessing().fit(X_train)
X_train, X_test = prep.transform(X_train), prep.transform(X_test)

learners = {"euclidean": None, "lmnn": LMNN(),
            "lmnn-pl": LMNN(perturbation_weight=10.0, perturbation_margin=0.3)}
for name, learner in learners.items():
    knn = CertifiedKNN(n_neighbors=3, metric_learner=learner).fit(X_train, y_train)
    accuracy = knn.score(X_test, y_test)
    errors = knn.certified_robust_error(X_test, y_test, radii=[0.05, 0.1])
    print(f"{name:10s} accuracy {accuracy:.3f}  certified robust error at 0.05, 0.1: "
          f"{errors.round(3)}")
    assert accuracy > 0.85 and 1 - accuracy <= errors[0] <= errors[1] <= 1, (accuracy, errors)
print(f"robustdml {robustdml.__version__} from {installed.parent}")
"""


def fail(problems):
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    sys.exit(1)


def only(folder, pattern):
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        fail([f"expected one {pattern} in {folder}, found {[path.name for path in found]}; "
              "run `make dist` (it empties dist/ first)"])
    return found[0]


def modules():
    """Paths of the package's modules relative to src/, e.g. robustdml/math/margin.py."""
    return {path.relative_to(PACKAGE.parent).as_posix() for path in PACKAGE.rglob("*.py")}


def check_metadata(wheel, sdist):
    subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                   check=True)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    problems = []
    if "License-Expression: MIT" not in metadata.splitlines():
        problems.append("METADATA has no 'License-Expression: MIT'")
    if f"{info}/licenses/LICENSE" not in names:
        problems.append(f"the wheel lacks {info}/licenses/LICENSE")
    if "robustdml = robustdml.cli:main" not in entry_points:
        problems.append("the wheel declares no `robustdml` console script")
    return problems


def check_contents(wheel, sdist):
    problems = []
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = modules() - names
    if missing:
        problems.append(f"the wheel lacks {sorted(missing)}")
    stray = sorted(name for name in names
                   if not name.startswith("robustdml/") and ".dist-info/" not in name)
    if stray:
        problems.append(f"the wheel holds files outside the package: {stray}")
    with tarfile.open(sdist) as archive:
        # drop the leading robustdml-<version>/ folder
        members = {name.partition("/")[2] for name in archive.getnames()}
    needed = {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"}
    needed |= {f"src/{module}" for module in modules()}
    if needed - members:
        problems.append(f"the sdist lacks {sorted(needed - members)}")
    for archive_name, names in (("wheel", names), ("sdist", members)):
        shipped = sorted({name.split("/")[0] for name in names} & set(NOT_SHIPPED))
        if shipped:
            folders = ", ".join(f"{name}/" for name in shipped)
            problems.append(f"the {archive_name} holds {folders}, which only the repository "
                            "needs")
    return problems


def check_installed(wheel):
    """Install the wheel alone in a fresh environment; run the quick start and the command
    from an empty folder outside the repository."""
    with tempfile.TemporaryDirectory(prefix="robustdml-dist-") as scratch:
        scratch = Path(scratch)
        environment, workdir = scratch / "venv", scratch / "work"
        workdir.mkdir()
        venv.create(environment, with_pip=True)
        python = environment / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
        subprocess.run([str(python), "-c", QUICK_START], cwd=workdir, check=True)
        usage = subprocess.run([str(environment / "bin" / "robustdml"), "--help"], cwd=workdir,
                               check=True, capture_output=True, text=True).stdout
        if not usage.startswith("usage: robustdml"):
            return [f"`robustdml --help` printed {usage[:200]!r}"]
        print(usage.splitlines()[0])
        version = subprocess.run([str(environment / "bin" / "robustdml"), "--version"],
                                 cwd=workdir, check=True, capture_output=True, text=True).stdout
        expected = wheel.name.split("-")[1]
        if version.split() != ["robustdml", expected]:
            return [f"`robustdml --version` printed {version!r}; expected robustdml {expected}"]
        print(version.strip())
    return []


def main(folder):
    folder = Path(folder)
    wheel, sdist = only(folder, "robustdml-*.whl"), only(folder, "robustdml-*.tar.gz")
    problems = check_metadata(wheel, sdist) + check_contents(wheel, sdist)
    if problems:
        fail(problems)
    problems = check_installed(wheel)
    if problems:
        fail(problems)
    print(f"check_dist: {wheel.name} and {sdist.name} are fine")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else REPO / "dist")
