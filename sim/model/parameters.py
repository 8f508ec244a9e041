"""Compiling sources, parameters, state and variants: checks of names and types, and slots."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

from sim.format.expr import Type
from sim.format.pool import Pool
from sim.format.scenario import (
    Variant,
    citations_of,
)
from sim.format.validation import suggest
from sim.model.compiled import (
    CExpert,
    CParameter,
    CState,
    Value,
)
from sim.model.compiler import Core, NodePath, as_source
from sim.model.overrides import (
    TYPE_WORDS,
    Spec,
    declared_type,
    replacement,
    type_mismatch,
    value_type,
)

__all__ = [
    "ParameterSection",
]


class ParameterSection(Core):
    """Compiling sources, parameters, state and variants: checks of names and types, and slots."""

    def check_sources(self) -> None:
        """Source ids are unique and every citation names a declared source; ``vantage``
        and ``hindsight`` are format 1.1."""
        first: dict[str, int] = {}
        for i, source in enumerate(self.s.sources):
            if source.id in first:
                earlier = f"sources[{first[source.id]}]"
                self.report(("sources", i, "id"), f"duplicate source id {source.id!r} ({earlier})")
            first.setdefault(source.id, i)
        for where, citation in citations_of(self.s):
            if citation.ref in first or where[0] == "indicators":  # the indicators' own check
                continue
            path: NodePath = (*where, "ref")
            hint = suggest(citation.ref, list(first))
            declared = ", ".join(first) or "none"
            self.report(
                path, f"unknown source {citation.ref!r}{hint}; declared sources: {declared}"
            )
        if self.s.vantage is not None:
            self.require_1_1(("vantage",), "`vantage`", at_key=True)
        for name, parameter in self.s.parameters.items():
            if parameter.hindsight is not None:
                self.require_1_1(("parameters", name, "hindsight"), "`hindsight`", at_key=True)

    def declare_parameters(self) -> None:
        """Give each parameter its slot and type (the type of its baseline value)."""
        for name, parameter in self.s.parameters.items():
            self.slots[name] = len(self.slots)
            self.types[name] = self.parameter_types[name] = declared_type(
                parameter.dist, parameter.value
            )

    def parameter_specs(
        self, variant: Variant | None, overrides: Mapping[str, Any]
    ) -> dict[str, Spec]:
        """What each parameter draws from: the file, then the variant, then ``--set``."""
        specs = {
            name: Spec(p.dist, p.value, ("parameters", name, "dist"))
            for name, p in self.s.parameters.items()
        }
        for name, change in (variant.parameters if variant is not None else {}).items():
            if name in specs and variant is not None:  # else check_variant reports it
                specs[name] = replacement(change, self.variant_path(variant, name))
        for name, change in overrides.items():
            specs[name] = replacement(change)
        return specs

    def variant_path(self, variant: Variant, name: str) -> NodePath:
        """Where ``variant`` writes its change of parameter ``name``."""
        label = next((k for k, v in self.s.variants.items() if v is variant), "")
        return ("variants", label, "parameters", name)

    def parameter(self, name: str, spec: Spec) -> CParameter:
        """Compile one parameter."""
        declared = self.s.parameters[name]
        kind: Literal["number", "bool"] = (
            "bool" if self.parameter_types[name] is Type.BOOL else "number"
        )
        dist, value, sampler = spec.dist, spec.value, None
        if dist is not None and dist.kind == "pool":
            return self.pool(name, kind, dist, spec.path or ("parameters", name, "dist"))
        if dist is not None and dist.kind == "fixed":
            value = dist.value
        elif dist is not None and dist.expressions:
            path = spec.path or ("parameters", name, "dist")
            draw, reads, resolve = self.dynamic(
                dist, path, only=self.parameter_types, what="a distribution"
            )
            return CParameter(
                name, self.slots[name], kind, None, None, dist, declared.doc, draw, reads,
                self.place(path), resolve,
            )  # fmt: skip
        elif dist is not None:
            sampler = dist.sampler()
        if kind == "number" and value is not None:
            value = float(value)
        return CParameter(name, self.slots[name], kind, value, sampler, dist, declared.doc)

    def pool(
        self, name: str, kind: Literal["number", "bool"], pool: Pool, path: NodePath
    ) -> CParameter:
        """Compile a pooled parameter: its experts, their weights and what they read."""
        self.require_1_1((*path, "kind"), "a pool of experts")
        experts: list[CExpert] = []
        reads: frozenset[int] = frozenset()
        for k, expert in enumerate(pool.experts):
            dist = expert.dist
            if dist.kind == "fixed":
                experts.append(CExpert(expert.name, value=dist.value))
            elif dist.expressions:
                draw, read, _ = self.dynamic(
                    dist, (*path, "experts", k, "dist"), only=self.parameter_types,
                    what="a distribution",
                )  # fmt: skip
                experts.append(CExpert(expert.name, draw=draw))
                reads |= read
            else:
                experts.append(CExpert(expert.name, sampler=dist.sampler()))
        cumulative = tuple(itertools.accumulate(float(w) for w in pool.weights))
        return CParameter(
            name, self.slots[name], kind, None, None, pool, self.s.parameters[name].doc,
            reads=reads, path=self.place(path), experts=tuple(experts), cumulative=cumulative,
        )  # fmt: skip

    def pooled(self) -> set[str]:
        """The parameters that are pools in the file or in any variant (an expert column)."""
        found = {n for n, p in self.s.parameters.items() if getattr(p.dist, "kind", "") == "pool"}
        for variant in self.s.variants.values():
            for name, change in variant.parameters.items():
                if getattr(getattr(change, "dist", None), "kind", "") == "pool":
                    found.add(name)
        return found

    def draw_order(
        self, parameters: tuple[CParameter, ...], specs: Mapping[str, Spec]
    ) -> tuple[int, ...]:
        """The order to draw the parameters in: each after those its distribution reads.

        File order where nothing depends; a cycle is a problem located at the first
        parameter of the file on it.
        """
        by_slot = {p.slot: i for i, p in enumerate(parameters)}
        order: list[int] = []
        state: dict[int, str] = {}  # "open" while being visited, "done" after

        def visit(i: int, trail: list[int]) -> None:
            if state.get(i) == "done":
                return
            if state.get(i) == "open":
                cycle = [*trail[trail.index(i) :], i]
                names = " -> ".join(parameters[k].name for k in cycle)
                p = parameters[i]  # reported once, where the cycle is entered
                path = specs[p.name].path or ("parameters", p.name, "dist")
                self.report(path, f"parameters depend on each other in a cycle: {names}")
                return
            state[i] = "open"
            for slot in sorted(parameters[i].reads):
                if slot in by_slot:
                    visit(by_slot[slot], [*trail, i])
            state[i] = "done"
            order.append(i)

        for i in range(len(parameters)):
            visit(i, [])
        return tuple(order)

    def declare_state(
        self, variant: Variant | None, variant_name: str | None
    ) -> dict[str, tuple[Any, NodePath]]:
        """Give each state variable its slot and type; return its initial value and path."""
        parameters = {n: t for n, t in self.types.items() if n != "t"}
        inits: dict[str, tuple[Any, NodePath]] = {}
        for name, var in self.s.state.items():
            path: NodePath = ("state", name)
            if name in self.slots:
                self.report_key(path, f"name {name!r} is already a parameter")
                continue
            type_ = self.init_type(var.init, (*path, "init"), parameters)
            if type_ is Type.BOOL and (var.min is not None or var.max is not None):
                self.report(path, "a true/false variable takes no min/max")
            self.slots[name] = len(self.slots)
            self.types[name] = type_
            inits[name] = (var.init, (*path, "init"))
        for name, change in (variant.state if variant else {}).items():
            if name in inits:
                inits[name] = (change.init, ("variants", variant_name or "", "state", name, "init"))
        return inits

    def init_type(self, init: Value | str, path: NodePath, scope: Mapping[str, Type]) -> Type:
        """The type of an initial value; an expression is checked against the parameters."""
        if not isinstance(init, str):
            return value_type(init)
        checked = self.check_expr(init, path, None, only=scope, what="an initial value")
        return checked.type if checked is not None else Type.NUMBER

    def state_var(self, name: str, init: tuple[Any, NodePath]) -> CState:
        """Compile one state variable."""
        var = self.s.state[name]
        value, path = init
        kind: Literal["number", "bool"] = "bool" if self.types[name] is Type.BOOL else "number"
        parameters = {n: self.types[n] for n in self.s.parameters}
        # No expected type: the baseline's init defines it, and check_variant compares a
        # variant's init with it (expecting it here too would report a mismatch twice).
        expr = self.expr(as_source(value), path, None, only=parameters, what="an initial value")
        return CState(name, self.slots[name], kind, expr, var.min, var.max)

    def check_variant(self, name: str, variant: Variant) -> None:
        """A variant's parameters and state exist and keep their types."""
        base: NodePath = ("variants", name)
        for parameter, change in variant.parameters.items():
            path: NodePath = (*base, "parameters", parameter)
            if parameter not in self.parameter_types:
                hint = suggest(parameter, list(self.parameter_types))
                self.report_key(path, f"unknown parameter {parameter!r}{hint}")
                continue
            mismatch = type_mismatch(parameter, self.s.parameters[parameter], change)
            if mismatch is not None:
                self.report(path, mismatch)
        parameters = {n: self.types[n] for n in self.s.parameters}
        for var, new in variant.state.items():
            path = (*base, "state", var)
            if var not in self.s.state:
                self.report_key(
                    path, f"unknown state variable {var!r}{suggest(var, list(self.s.state))}"
                )
                continue
            got = self.init_type(new.init, (*path, "init"), parameters)
            wanted = self.types.get(var, got)
            if got is not wanted:
                self.report(
                    (*path, "init"),
                    f"state {var!r} is {TYPE_WORDS[wanted]}, got {TYPE_WORDS[got]}",
                )
