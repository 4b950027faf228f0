"""What report.md's columns, method names and tuning mean, in words."""

from collections import defaultdict

import numpy as np

from .records import metric_names


#: What each column of the report means (``{}``: filled from the configuration).
GLOSSARY = {
    "clean_error": "fraction of the test part that the k-NN classifier (k = {n_neighbors}) "
                   "misclassifies.",
    "noise_error@s": "the error when Gaussian noise of standard deviation s is "
                   "added to every test point (mean over {noise_draws} draws).",
    "certified_error@r": "the certified robust error at L2 radius r, the "
                       "fraction of test points misclassified or with a certified radius of "
                       "at most r. An upper bound on what any attack of norm r can do.",
    "robust_error_at_R": "the certified robust error at the reference radius R = "
                         "{relative_radius} x the data set's scale (R per data set below).",
    "data scale": "the median distance from a training point to its nearest other-class "
                  "training point, after preprocessing: radii in its units mean the same on "
                  "every data set.",
    "median_certified_radius": "the median over the test part of the certified radius: no "
                               "perturbation of smaller L2 norm changes the prediction "
                               "(0 for a misclassified point).",
    "empirical_error@r": "the fraction of attacked test points (up to "
                       "{attack_points}) that the attack misclassifies with a perturbation of "
                       "norm at most r. A lower bound on the robust error; the certified "
                       "error is an upper bound.",
    "median_attack_norm": "the median norm of the smallest perturbation the attack found.",
    "fit_seconds": "seconds of the final fit on the whole training part.",
}


#: What each method name means.
METHOD_NAMES = {
    "euclidean": "k-NN on the preprocessed features, no metric learned (the baseline).",
    "lmnn": "LMNN (Weinberger and Saul), its pull weight and drift weight tuned.",
    "lmnn-pl": "LMNN with the perturbation loss of Yang et al., LMNN's and the loss's "
               "settings tuned together.",
    "lmnn-pl-staged": "LMNN tuned first (as lmnn), then the perturbation loss's settings "
                      "with LMNN's fixed (plain LMNN among the candidates).",
    "nca": "scikit-learn's NeighborhoodComponentsAnalysis, untuned.",
    "nca-pl": "NCA with the perturbation loss, the loss's settings tuned.",
    "nca+pl-finetune": "our NCA, then RobustFineTuner: the perturbation loss near NCA's metric, "
                       "the loss's settings tuned.",
    "arml": "ARML (Wang et al. 2020), the robust metric learning peer, untuned as its authors "
            "ran it.",
}


def settings(config=None):
    """The protocol settings the report's text names: ``config``'s, else the defaults."""
    return {"n_neighbors": 3, "noise_draws": 5, "attack_points": 200, "relative_radius": 0.1,
            **(config or {})}


def glossary(records, config=None):
    """Markdown lines defining the report's columns and the method names it uses."""
    present = {name.split("@")[0] for name in metric_names(records)} | {"data scale"}
    lines = ["## Columns and names", ""]
    lines += [f"- `{name}`: {text.format(**settings(config))}" for name, text in GLOSSARY.items()
              if name.split("@")[0] in present]
    methods = sorted({record["method"] for record in records})
    lines += [""] + [f"- `{name}`: {METHOD_NAMES[name]}" for name in methods
                     if name in METHOD_NAMES]
    if any("_l" in name and "_t" in name for name in methods):
        lines.append("- `<method>_l<lambda>_t<tau>` (a trade-off run): that method untuned, "
                     "with perturbation weight lambda and margin tau x the data scale.")
    return lines + [""]


#: What a selection rule keeps, in words.
RULES = {"accuracy": "the highest accuracy",
         "certified": "the highest certified accuracy at R (the fraction of held-out points "
                      "classified correctly with a certified radius above R)"}


#: How a search cross-validates the candidates, in words.
SEARCHES = {"random": "on the whole training part",
            "halving": "with successive halving on the training part (scikit-learn's "
                       "HalvingGridSearchCV, factor 3: each round keeps the best third of the "
                       "candidates and gives them three times the data)"}


def tuning_notes(records, config=None):
    """Markdown lines: which methods were tuned, over how many candidates, by what rule."""
    spaces = {}
    for record in records:
        if record.get("search_space"):
            spaces[record["method"]] = record["search_space"]
    if not spaces:
        return ["No method was tuned: each ran with its default settings."]
    config = config or {}
    tuned = [record for record in records if record.get("search_space")]
    rules = sorted({record.get("select", "accuracy") for record in tuned})
    searches = sorted({record["search"] for record in tuned if "search" in record})
    budget = config.get("budget")
    if budget is None:
        candidates = "the candidate settings"
    elif budget == 1:
        candidates = "1 candidate setting (its defaults: no random draw)"
    else:
        candidates = (f"{budget} candidate settings (the defaults and {budget - 1} random draws "
                      "from the search space below; a staged method draws this many per stage)")
    folds = f"{config['cv_folds']}-fold" if "cv_folds" in config else "k-fold"
    lines = [f"Tuned methods ({', '.join(sorted(spaces))}): each tried {candidates}, scored "
             f"them by {folds} cross-validation "
             + " or ".join(SEARCHES.get(search, f"by {search} search") for search in searches)
             + ", and kept the one with "
             + " or ".join(RULES.get(rule, rule) for rule in rules) + "."]
    for method, space in sorted(spaces.items()):
        lines.append(f"- {method} search space: the defaults plus random draws of "
                     + ", ".join(f"{key} ~ {value}" for key, value in sorted(space.items())))
    return lines


def selection_notes(records, datasets, config=None):
    """How hyper-parameters were chosen, over what, and the robust radius R per data set."""
    lines = tuning_notes(records, config)
    radii = defaultdict(list)
    for record in records:
        if "robust_radius" in record:
            radii[record["dataset"]].append((record["robust_radius"], record["data_scale"]))
    if radii:
        lines += ["", "robust_error_at_R is the certified robust error at R = relative radius x "
                  "the data set's scale (median distance from a training point to its nearest "
                  "other-class point, preprocessed):", "",
                  "| data set | scale (mean over splits) | R (mean over splits) |", "|---|---|---|"]
        for dataset in datasets:
            if radii[dataset]:
                values = np.array(radii[dataset])
                lines.append(f"| {dataset} | {values[:, 1].mean():.4f} | "
                             f"{values[:, 0].mean():.4f} |")
    return lines + [""]
