"""Analyses of runs: sweeps, points, comparisons, sensitivity, reports."""
