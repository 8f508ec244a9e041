"""Monte Carlo runs: chunks of branches, executors, precision targets, run directories."""
