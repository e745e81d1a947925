"""Run a spec against a network: prepare once, check every invariant (in parallel when asked)."""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import z3

from . import __version__
from .encode.check import Checker
from .model import Network
from .remedy.explain import Explainer
from .report.model import Assumptions, FlowMap, GroupFlow, Report, Result
from .semantics.routing import routing_warnings
from .sources import SourceInfo, trim_free_memory
from .spec import Invariant, Selector, Spec

if TYPE_CHECKING:
    from .explain.enumerate import ClassLabeller

_CHECKER: Checker | None = None
_EXPLAINER: Explainer | None = None  # with --explain: adds rests_on to each proven result
_ALL: tuple[ClassLabeller, int] | None = None  # with --all: the labeller and the limit per invariant
# with a flow map: its groups' selectors and when its first edge started (shared by the workers)
_MAP: tuple[dict[str, Selector], Any] | None = None


def _task(task: int | tuple[str, str]) -> Result | GroupFlow | None:
    """One invariant (by index), or one edge of the flow map (a pair of group names)."""
    assert _CHECKER is not None
    if isinstance(task, int):
        done: Result | GroupFlow | None = _checked(_CHECKER, _EXPLAINER, _ALL, _CHECKER.spec.invariants[task])
    else:
        done = _edge(_CHECKER, task)
    # a worker's next task starts from what this one leaves: its z3 context and the allocator's free
    # memory go now (at 100,000 heterogeneous ENIs a reach query peaks at 0.9 GiB)
    _CHECKER.enc.release()
    trim_free_memory()
    return done


def _edge(checker: Checker, pair: tuple[str, str]) -> GroupFlow | None:
    """One edge of the flow map, within the budget that the map's first edge started in any worker."""
    assert _MAP is not None
    from .explain.flowmap import BUDGET_SECONDS, map_edge

    selectors, start = _MAP
    with start.get_lock():
        if start.value < 0:
            start.value = time.monotonic()  # system-wide: the same clock in every worker
        t0 = start.value
    return map_edge(checker, pair[0], pair[1], selectors, lambda: time.monotonic() - t0 >= BUDGET_SECONDS,
                    BUDGET_SECONDS)


def _checked(checker: Checker, explainer: Explainer | None, every: tuple[ClassLabeller, int] | None,
             inv: Invariant) -> Result:
    """One invariant's result: checked, explained with --explain, its violations listed with --all."""
    result = checker.check(inv)
    result = explainer.explain(inv, result) if explainer is not None else result
    if every is not None:
        from .explain.enumerate import with_violations

        result = with_violations(checker, every[0], inv, result, every[1])
    return result


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def verify(spec: Spec, net: Network, source: SourceInfo, jobs: int = 1,
           progress: Callable[[int, int, str], None] | None = None, checker: Checker | None = None,
           fix: bool = False, explain: bool = False, all_violations: int | None = None,
           flow_map: bool = False) -> Report:
    """Check every invariant of a spec; results come back in spec order whatever the job count.
    A checker already prepared for this network and spec is reused. With `fix`, every refuted invariant
    gets a verified repair; with `explain`, each proven result carries what it rests on (contract 9);
    with `all_violations`, each refuted deny/only result lists up to that many violation groups
    (`--all`), found in the same worker that refuted it; with `flow_map`, the report carries the picture
    of the flows between the spec's groups, its edges asked in the workers after the invariants."""
    global _CHECKER, _EXPLAINER, _ALL, _MAP
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    checker = checker or Checker(net, spec)
    explainer = Explainer(checker) if explain else None
    every: tuple[ClassLabeller, int] | None = None
    if all_violations is not None:
        from .explain.enumerate import ClassLabeller, check_limit

        check_limit(all_violations)
        every = (ClassLabeller(checker), all_violations)
    total = len(spec.invariants)
    results: list[Result] = []
    names: tuple[str, ...] = ()
    selectors: dict[str, Selector] = {}
    if flow_map:
        from .explain.flowmap import BUDGET_SECONDS, map_groups

        names, selectors = map_groups(checker)
    grid = [(a, b) for a in names for b in names]  # the map's edges in the groups' order
    # edges to and from external addresses first: they take the most questions (which services, which
    # addresses), and started last they would run alone
    external = {n for n in names if checker.selection.evaluate(selectors[n]).ext != ((), ())}
    pairs = sorted(grid, key=lambda ab: (ab[1] not in external, ab[0] not in external))
    # reach invariants first: a universal query is usually the costliest, and started last it would
    # leave the other workers idle while it runs (results still come back in spec order)
    order = sorted(range(total), key=lambda i: (spec.invariants[i].kind != "reach", i))
    tasks: list[int | tuple[str, str]] = [*order, *pairs]
    fmap: FlowMap | None = None
    if jobs > 1 and len(tasks) > 1 and "fork" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("fork")
        _CHECKER, _EXPLAINER, _ALL = checker, explainer, every
        _MAP = (selectors, ctx.Value("d", -1.0)) if flow_map else None
        checker.warm()  # evaluate every selector here, once, rather than in every worker
        # Workers share the parent's pages until they write them: move everything alive now out of the
        # collector's reach so that its passes do not copy the network into every worker.
        gc.collect()
        gc.freeze()
        edges: list[GroupFlow] = []
        by_index: dict[int, Result] = {}
        try:
            with ctx.Pool(min(jobs, len(tasks))) as pool:
                for task, res in zip(tasks, pool.imap(_task, tasks, chunksize=1), strict=True):
                    if isinstance(res, Result):
                        assert isinstance(task, int)
                        by_index[task] = res
                        if progress:
                            progress(len(by_index), total, res.id)
                    elif res is not None:
                        edges.append(res)
        finally:
            gc.unfreeze()
            _CHECKER = _EXPLAINER = _ALL = _MAP = None
        results = [by_index[i] for i in range(total)]
        if flow_map:
            rank = {ab: k for k, ab in enumerate(grid)}
            edges.sort(key=lambda e: rank[(e.src, e.dst)])
            fmap = FlowMap(names, tuple(edges), budget_seconds=BUDGET_SECONDS)
    else:
        for n, inv in enumerate(spec.invariants, 1):
            results.append(_checked(checker, explainer, every, inv))
            if progress:
                progress(n, total, inv.id)
        if flow_map:
            from .explain.flowmap import flow_map as make_map

            fmap = make_map(checker, BUDGET_SECONDS)
    # the engine knows nothing of severities: each result takes its invariant's
    results = [dataclasses.replace(r, severity=inv.severity) if r.severity != inv.severity else r
               for r, inv in zip(results, spec.invariants, strict=True)]
    warnings = list(net.warnings)
    for inv in spec.invariants:
        for ex in inv.exemptions:
            if ex.expired:
                warnings.append(f"{ex.where}: an exception of {inv.id} expired on {ex.until}: it no longer applies")
    if any(e.address_unknown for e in net.enis):
        warnings.append("some ENIs get their private address only at apply time: deny and only are checked "
                        "for every address AWS could assign, reach must hold for each of them")
    if net.routing is None:
        warnings.append("the snapshot has no RouteTables: routing is open (any two endpoints are taken to "
                        "have a route both ways)")
    else:
        warnings.extend(routing_warnings(net))
    hostless = sum(1 for e in net.enis if not e.hosts)
    if hostless:
        warnings.append(f"{hostless} ENI(s) host nothing (NAT gateway, transit gateway or Gateway Load Balancer "
                        "interfaces): no flow starts or ends at them")
    assumptions = Assumptions(
        "open" if net.routing is None else "modelled",
        f"{spec.ephemeral[0]}-{spec.ephemeral[1]}",
        tuple(warnings),
        hostless,
    )
    checking = time.perf_counter() - t0  # the CLI replaces `seconds` with the wall time of the whole run
    report = Report(spec.path, spec.name, source, assumptions, tuple(results), __version__,
                    z3.get_version_string(), started, checking, check_seconds=checking, flow_map=fmap)
    if fix:
        from .remedy.fix import add_repairs

        report = add_repairs(report, checker)
    return report
