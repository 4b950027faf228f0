"""The paired tests: whether one method's numbers differ from another's over the same splits."""

import numpy as np
from scipy.stats import ttest_rel

from .records import higher_is_better


#: Significance level of the paired tests.
ALPHA = 0.05


#: Fewer paired splits than this give no verdict ("n/a" in the report).
MIN_SPLITS = 3


def compare(focus, other):
    """'win', 'tie' or 'loss' of ``focus`` (lower is better) by a paired t-test over splits."""
    splits = sorted(set(focus) & set(other))
    if len(splits) < MIN_SPLITS:
        return None
    a = np.array([focus[s] for s in splits])
    b = np.array([other[s] for s in splits])
    difference = a - b
    if np.allclose(difference, 0.0):
        return "tie"
    if np.allclose(difference, difference[0]):  # no variance to test: a two-sided sign test
        if 2.0 * 0.5 ** len(splits) >= ALPHA:
            return "tie"
        return "win" if difference[0] < 0 else "loss"
    p_value = ttest_rel(a, b).pvalue
    if not np.isfinite(p_value) or p_value >= ALPHA:
        return "tie"
    return "win" if difference.mean() < 0 else "loss"


def versus(values, metric, method, rival, datasets):
    """"lower on W, no significant difference on T, higher on L" of ``method`` against
    ``rival`` (paired t-tests over splits); None when no data set has enough splits."""
    counts = {"win": 0, "tie": 0, "loss": 0}
    for dataset in datasets:
        ours, theirs = values[dataset][method][metric], values[dataset][rival][metric]
        if higher_is_better(metric):
            ours, theirs = ({s: -v for s, v in side.items()} for side in (ours, theirs))
        outcome = compare(ours, theirs)
        if outcome:
            counts[outcome] += 1
    if not sum(counts.values()):
        return None
    better, worse = ("larger", "smaller") if higher_is_better(metric) else ("lower", "higher")
    return (f"{better} on {counts['win']}, no significant difference on {counts['tie']}, "
            f"{worse} on {counts['loss']}")
