"""Data sets: a registry of offline sources, and the authors' data files."""

from .australian import AuthorsSplits, load_authors_mat
from .registry import SPECS, SUITES, Dataset, DatasetSpec, available, load
from .sources import DataUnavailable

__all__ = ["AuthorsSplits", "DataUnavailable", "Dataset", "DatasetSpec", "SPECS", "SUITES",
           "available", "load", "load_authors_mat"]
