"""Experiment drivers built on the estimators."""
