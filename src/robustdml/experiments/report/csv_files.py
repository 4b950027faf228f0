"""The CSV files: results.csv and summary.csv."""

import csv


def write_csv(path, rows):
    """Write ``rows`` (dicts) as a CSV file: one column per key of any row (dataset, method,
    split and metric first, the others sorted), empty where a row lacks it."""
    columns = sorted({key for row in rows for key in row},
                     key=lambda c: (c not in ("dataset", "method", "split", "metric"), c))
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
