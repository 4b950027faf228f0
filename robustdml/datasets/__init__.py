"""Data sets and the authors' data files."""

from .australian import AuthorsSplits, load_authors_mat

__all__ = ["AuthorsSplits", "load_authors_mat"]
