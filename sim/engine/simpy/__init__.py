"""The SimPy engine, the reference semantics: one branch at a time on a SimPy environment."""
