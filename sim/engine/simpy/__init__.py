"""The SimPy engine, the reference semantics: one branch at a time on a SimPy environment."""

from sim.engine.simpy.branch import run_branch, run_branches

__all__ = ["run_branch", "run_branches"]
