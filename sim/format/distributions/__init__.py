"""Probability distributions of scenario files, one module per family."""
