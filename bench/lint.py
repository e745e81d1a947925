"""Benchmark `sgproof lint` (every rule) against the json.load floor on generated networks of several sizes.

Uses bench/run.py's generator cache, floor and measuring wrapper: per size, `--repeat` times, the floor
(json.load in a fresh interpreter) and one end-to-end `sgproof lint --snapshot network.json --format json`;
prints wall and CPU medians, the ratio to the floor and the growth when the ENIs double, and the findings
per rule (which must be the same in every run). To measure a commit while the tree changes, export its
src/ (git archive) and run with PYTHONPATH=<export>/src SGPROOF_BENCH_REV=<sha> --sgproof "<python> -m sgproof".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (bench/run.py: generator cache, floor, measuring wrapper)

TARGET_RATIO = 10.0  # at 10k ENIs


@dataclass
class Row:
    floor: float
    floor_cpu: float
    wall: float
    cpu: float
    load: float
    findings: dict[str, int] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2500,5000,10000", help="comma-separated ENI counts")
    parser.add_argument("--profile", default="friendly", choices=run.PROFILES)
    run.add_run_options(parser, "lint")
    args = parser.parse_args(argv)
    base = run.sgproof_command(args.sgproof)
    routing = args.routing == "on"
    rows: dict[int, Row] = {}
    consistent = True
    for enis in [int(s) for s in args.sizes.split(",") if s.strip()]:
        out = args.out / f"{args.profile}-{'routed' if routing else 'unrouted'}" / str(enis)
        run.log(f"[lint {args.profile} {enis}] generating ...")
        run.generate(enis, args.seed, out, False, args.profile, routing)
        network = out / "network.json"
        floors: list[float] = []
        floor_cpus: list[float] = []
        walls: list[float] = []
        cpus: list[float] = []
        loads: list[float] = []
        counts: list[dict[str, int]] = []
        for i in range(args.repeat):
            loads.append(os.getloadavg()[0])
            floor, floor_cpu = run.measure_floor(network)
            floors.append(floor)
            floor_cpus.append(floor_cpu)
            lint_out = out / "lint"
            lint_out.mkdir(exist_ok=True)
            got = run.measure_verify([*base, "lint", "--snapshot", str(network), "--format", "json"], lint_out,
                                     args.timeout)
            if got["rc"] not in (0, 1):
                run.log(f"[lint {enis}] run {i + 1}: exit {got['rc']}: {got['stderr'][-600:]}")
                consistent = False
                break
            walls.append(got["wall"])
            cpus.append(got["cpu"])
            counts.append(json.loads(got["stdout"])["summary"]["by_rule"])
            run.log(f"[lint {enis}] run {i + 1}: floor {floors[-1]:.2f} s, lint {walls[-1]:.2f} s "
                    f"(CPU {cpus[-1]:.2f} s)")
        if any(c != counts[0] for c in counts):
            consistent = False
            run.log(f"[lint {enis}] FINDINGS DIFFER BETWEEN RUNS: {counts}")
        nan = float("nan")
        rows[enis] = Row(statistics.median(floors), statistics.median(floor_cpus), statistics.median(walls) if walls else nan,
                         statistics.median(cpus) if cpus else nan, max(loads), counts[0] if counts else {})
    rev = os.environ.get("SGPROOF_BENCH_REV") or run.revision()
    lines = [f"sgproof lint benchmark — {args.profile}, {'routed' if routing else 'unrouted'}, median of "
             f"{args.repeat} runs, sgproof {rev}", "",
             "| ENIs | json.load floor (s) | lint (s) | ratio | growth ×2 | floor CPU (s) | lint CPU (s) | CPU ratio "
             "| findings | load avg |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for enis, r in sorted(rows.items()):
        half = rows.get(enis // 2)
        growth = r.wall / half.wall if half else float("nan")
        lines.append(f"| {enis:,} | {run.fmt(r.floor)} | {run.fmt(r.wall)} | {run.fmt(r.wall / r.floor, 1)} | "
                     f"{run.fmt(growth)} | {run.fmt(r.floor_cpu)} | {run.fmt(r.cpu)} | {run.fmt(r.cpu / r.floor_cpu, 1)} | "
                     f"{sum(r.findings.values())} | {run.fmt(r.load, 1)} |")
    if 10000 in rows:
        ratio = rows[10000].wall / rows[10000].floor
        cpu_ratio = rows[10000].cpu / rows[10000].floor_cpu
        lines += ["", f"- {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}: 10k ENIs within {TARGET_RATIO:.0f}× the "
                      f"json.load floor ({ratio:.1f}×; on CPU time {cpu_ratio:.1f}×)"]
    if rows:
        largest = rows[max(rows)].findings
        lines += ["", "Findings per rule at the largest size: " + ", ".join(f"{k} {v}" for k, v in largest.items())]
    print("\n".join(lines))
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())
