"""Benchmark the three `verify` workloads a user runs, against the json.load floor: the plain check, `--all`
(every violation group of each refuted deny/only invariant) and the HTML report (with its flow map between
the spec's groups).

Uses bench/run.py's generator cache, floor and measuring wrapper. Per profile and size, `--repeat` times:
the floor, then each workload end to end in its own process. Prints the medians, the ratio of each to the
floor, and checks what each must give: the designed verdicts (every workload), the same violation lists
in every run with every refuted deny/only invariant listing some (`--all`), and a flow map with every
edge decided (the report: no "not checked", no "not decided", no "could not decide").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (bench/run.py: generator cache, floor, measuring wrapper)

TARGET_RATIO = 10.0  # each workload at 10k ENIs (issue 10)
WORKLOADS = ("verify", "all", "report")
UNDECIDED = ("not checked", "not decided", "could not decide")


def _command(base: list[str], spec: Path, network: Path, workload: str, out: Path, jobs: int | None) -> list[str]:
    cmd = [*base, "verify", str(spec), "--snapshot", str(network), "--quiet"]
    if workload == "report":
        cmd += ["--format", "html", "--output", str(out / "report.html")]
    else:
        cmd += ["--format", "json"] + (["--all"] if workload == "all" else [])
    return cmd + (["--jobs", str(jobs)] if jobs else [])


def _check(workload: str, got: dict[str, Any], out: Path, expected: dict[str, str]) -> tuple[list[str], Any]:
    """What is wrong with one run's answer, and what must be equal across runs."""
    if got["rc"] not in (0, 1):
        return [f"exit {got['rc']}: {got['stderr'][-600:]}"], None
    if workload == "report":
        html = (out / "report.html").read_text(encoding="utf-8")
        return [f"the flow map holds {w!r}" for w in UNDECIDED if w in html], None
    doc = json.loads(got["stdout"])
    statuses = {r["id"]: r["status"] for r in doc["results"]}
    problems = [f"{k} is {statuses.get(k)}, designed {v}" for k, v in expected.items() if statuses.get(k) != v]
    if workload != "all":
        return problems, None
    lists = {}
    for r in doc["results"]:
        if r["status"] == "refuted" and r["kind"] in ("deny", "only"):
            if not r.get("violations"):
                problems.append(f"{r['id']}: refuted, and --all lists no violation")
            lists[r["id"]] = (r.get("violations"), r.get("violations_complete"))
    return problems, lists


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000", help="comma-separated ENI counts")
    parser.add_argument("--profiles", default=",".join(run.PROFILES))
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"some of {', '.join(WORKLOADS)}")
    parser.add_argument("--jobs", type=int, default=None)
    run.add_run_options(parser, "verify")
    args = parser.parse_args(argv)
    base = run.sgproof_command(args.sgproof)
    run.compile_sources(run.ROOT / "src")
    routing = args.routing == "on"
    workloads = [w for w in args.workloads.split(",") if w]
    if not set(workloads) <= set(WORKLOADS):
        parser.error(f"--workloads takes some of {', '.join(WORKLOADS)}")
    rows = []
    problems: list[str] = []
    for profile in args.profiles.split(","):
        for enis in [int(s) for s in args.sizes.split(",") if s.strip()]:
            out = args.out / f"{profile}-{'routed' if routing else 'unrouted'}" / str(enis)
            tag = f"{profile} {enis}"
            run.log(f"[{tag}] generating ...")
            run.generate(enis, args.seed, out, False, profile, routing)
            network, spec = out / "network.json", out / "spec.yaml"
            expected = json.loads((out / "expected.json").read_text())
            floors: list[float] = []
            walls: dict[str, list[float]] = {w: [] for w in workloads}
            same: dict[str, list[Any]] = {w: [] for w in workloads}
            loads: list[float] = []
            for i in range(args.repeat):
                loads.append(os.getloadavg()[0])
                floors.append(run.measure_floor(network)[0])
                for w in workloads:
                    where = out / f"workload-{w}"
                    where.mkdir(exist_ok=True)
                    got = run.measure_verify(_command(base, spec, network, w, where, args.jobs), where, args.timeout)
                    wrong, keep = _check(w, got, where, expected)
                    problems += [f"{tag} {w} run {i + 1}: {p}" for p in wrong]
                    walls[w].append(got["wall"])
                    same[w].append(keep)
                    run.log(f"[{tag}] run {i + 1}: floor {floors[-1]:.2f} s, {w} {got['wall']:.2f} s, exit {got['rc']}")
            for w in workloads:
                if any(s != same[w][0] for s in same[w]):
                    problems.append(f"{tag} {w}: the answers differ between runs")
            floor = statistics.median(floors)
            rows.append((profile, enis, floor, {w: statistics.median(v) for w, v in walls.items()}, max(loads)))
    rev = os.environ.get("SGPROOF_BENCH_REV") or run.revision()
    lines = [f"sgproof workloads benchmark — {'routed' if routing else 'unrouted'}, median of {args.repeat} runs, "
             f"--jobs {args.jobs or 'default'}, seed {args.seed}, sgproof {rev}", "",
             "| profile | ENIs | json.load floor (s) | " + " | ".join(f"{w} (s) | ratio" for w in workloads)
             + " | load avg |",
             "| --- | ---: | ---: | " + " | ".join("---: | ---:" for _ in workloads) + " | ---: |"]
    verdicts = []
    for profile, enis, floor, wall, load in rows:
        cells = " | ".join(f"{run.fmt(wall[w])} | {run.fmt(wall[w] / floor, 1)}" for w in workloads)
        lines.append(f"| {profile} | {enis:,} | {run.fmt(floor)} | {cells} | {run.fmt(load, 1)} |")
        if enis == 10000:
            for w in workloads:
                ratio = wall[w] / floor
                verdicts.append(f"- {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}: {profile} {w} at 10k within "
                                f"{TARGET_RATIO:.0f}× the floor ({ratio:.1f}×)")
    lines += ["", *verdicts]
    lines += [f"- PROBLEM: {p}" for p in problems] or ["- PASS: every answer as designed, the same in every run, "
                                                        "every flow map edge decided"]
    print("\n".join(lines))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
