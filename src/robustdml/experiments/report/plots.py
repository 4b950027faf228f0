"""The PNG plots (with matplotlib) and report.md's section showing them."""

from pathlib import Path

import numpy as np

from .records import collect


#: Line styles cycled through the methods of a plot: color, marker and dash pattern all
#: differ, so that methods with equal numbers stay told apart.
STYLES = tuple(zip(("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                    "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan"),
                   "osD^vP*Xph", ("-", "--", "-.", ":") * 3))


#: Each method's points are shifted sideways by this fraction of the x range times its
#: position among the methods, so that equal curves do not hide one another.
DODGE = 0.012


def method_style(index):
    """Matplotlib line keywords of the ``index``-th method (hollow markers after one cycle)."""
    color, marker, linestyle = STYLES[index % len(STYLES)]
    return {"color": color, "marker": marker, "linestyle": linestyle, "markersize": 5,
            "markerfacecolor": "none" if index >= len(STYLES) else color}


def figure_legend(figure, axes, fontsize=8):
    """One legend for the whole figure, below its panels, from the first panel's lines
    (every panel draws the same methods in the same styles)."""
    handles, labels = axes[0].get_legend_handles_labels()
    if not labels:  # records without curves (e.g. clean error only): nothing to tell apart
        return
    figure.legend(handles, labels, loc="outside lower center", fontsize=fontsize,
                  ncol=min(len(labels), 4 if len(labels) <= 12 else 6), frameon=False)


def save_figure(figure, path, grow=False):
    """Lay out, write as PNG and close one matplotlib figure; returns ``path``. ``grow``:
    legends lie outside the axes, so the saved box grows to include them."""
    import matplotlib.pyplot as plt
    if grow:
        figure.savefig(path, dpi=100, bbox_inches="tight")
    else:
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_reports(records, out):
    """PNG plots, one per data set and a summary, each with one legend of the methods;
    returns their paths ([] without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    values = collect(records)
    methods = sorted({m for d in values.values() for m in d})
    plots = Path(out) / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    written = []
    panels = (("noise_error", "error under Gaussian noise", "noise sigma"),
              ("certified_error", "certified robust error", "L2 radius"),
              ("empirical_error", "robust error under attack", "L2 radius"))

    def curve(dataset, method, prefix):
        """x (0: clean) and the mean error over splits at each x."""
        by = values[dataset][method]
        series = sorted((float(m.split("@")[1]), list(v.values()))
                        for m, v in by.items() if m.startswith(prefix + "@") and v)
        xs = [0.0] + [x for x, _ in series]
        ys = [list(by["clean_error"].values())] + [v for _, v in series]
        return np.array(xs), np.array([np.mean(v) for v in ys])

    def draw(axis, x, y, index, method):
        shift = DODGE * (np.max(x) or 1.0) * (index - (len(methods) - 1) / 2)
        axis.plot(x + shift, y, label=method, **method_style(index))

    def finish(figure, axes, titles):
        for axis, (title, xlabel) in zip(axes, titles):
            axis.set(title=title, xlabel=xlabel, ylabel="error")
            axis.grid(alpha=0.3)
        figure_legend(figure, axes)

    for dataset in sorted(values):
        shown = [p for p in panels if any(m.startswith(p[0] + "@")
                                          for by in values[dataset].values() for m in by)]
        if not shown:
            continue
        figure, axes = plt.subplots(1, len(shown), figsize=(4.5 * len(shown), 4),
                                    squeeze=False, layout="constrained")
        for axis, (prefix, _, _) in zip(axes[0], shown):
            for index, method in enumerate(methods):
                if method in values[dataset]:
                    draw(axis, *curve(dataset, method, prefix), index, method)
        finish(figure, axes[0], [(f"{dataset}: {title}", xlabel) for _, title, xlabel in shown])
        written.append(save_figure(figure, plots / f"{dataset}.png", grow=True))

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for axis, (prefix, _, _) in zip(axes, panels):
        for index, method in enumerate(methods):
            curves = [curve(d, method, prefix) for d in values if method in values[d]]
            if curves and all(len(c[0]) == len(curves[0][0]) for c in curves):
                draw(axis, curves[0][0], np.mean([c[1] for c in curves], axis=0), index,
                     method)
    finish(figure, axes, [("mean over data sets: " + title, xlabel)
                          for _, title, xlabel in panels[:2]])
    written.append(save_figure(figure, plots / "summary.png", grow=True))
    return written


def plot_links(plots, out):
    """Markdown lines: a Plots section showing ``plots`` (paths under ``out``) by relative
    links, the summary first."""
    lines = ["## Plots", ""]
    if not plots:
        return lines + ["No plots: install matplotlib (pip install 'robustdml[plots]') and run "
                        "robustdml report again.", ""]
    for path in sorted(plots, key=lambda path: (path.stem != "summary", path.stem)):
        title = "mean over data sets" if path.stem == "summary" else path.stem
        lines += [f"![{title}]({Path(path).relative_to(out).as_posix()})", ""]
    return lines
