"""Benchmark `sgproof diff` against the json.load floor of both snapshots, over several sizes.

For each size: generate the network (bench/generate.py, friendly profile, routed unless --routing off),
mutate it (bench/mutate.py: ten rule changes spread over the tiers, seeded; --extra adds a membership,
a NACL entry and a route change), then alternate, --repeat times, the floor (json.load of OLD plus
json.load of NEW, each in a fresh interpreter) and one end-to-end `sgproof diff OLD NEW --format json`.
Prints time, time / floor and the growth when the size doubles; the target is 10x the floor at 10k.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from mutate import mutate  # noqa: E402
from run import add_run_options, generate, measure_floor, revision, sgproof_command  # noqa: E402

TARGET_RATIO = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2500,5000,10000", help="comma-separated ENI counts")
    parser.add_argument("--mutation-seed", type=int, default=1, help="mutation seed")
    parser.add_argument("--extra", action="store_true", help="also a membership, a NACL entry and a route change")
    add_run_options(parser, "diff")
    args = parser.parse_args(argv)
    base = sgproof_command(args.sgproof)
    routing = args.routing == "on"
    rows = []
    walls: dict[int, float] = {}
    for enis in [int(s) for s in args.sizes.split(",") if s.strip()]:
        out = args.out / f"friendly-{'routed' if routing else 'unrouted'}" / str(enis)
        generate(enis, args.seed, out, False, "friendly", routing)
        old = out / "network.json"
        new = out / f"mutated-{args.mutation_seed}{'-extra' if args.extra else ''}.json"
        doc = json.loads(old.read_text())
        mutated, log = mutate(doc, args.mutation_seed, 10, args.extra)
        new.write_text(json.dumps(mutated))
        print(f"[{enis}] mutation:\n  " + "\n  ".join(log), file=sys.stderr)
        floors, times, report = [], [], None
        for i in range(args.repeat):
            floors.append(measure_floor(old)[0] + measure_floor(new)[0])
            t = time.perf_counter()
            proc = subprocess.run([*base, "diff", str(old), str(new), "--format", "json"], capture_output=True,
                                  text=True, timeout=args.timeout, check=False)
            times.append(time.perf_counter() - t)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"[{enis}] diff exited {proc.returncode}: {proc.stderr[-800:]}")
            report = json.loads(proc.stdout)
            print(f"[{enis}] run {i + 1}: floor {floors[-1]:.2f} s, diff {times[-1]:.2f} s, "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)
        assert report is not None
        wall, floor = statistics.median(times), statistics.median(floors)
        walls[enis] = wall
        half = walls.get(enis // 2)
        rows.append((enis, floor, wall, wall / floor, wall / half if half else float("nan"),
                     report["summary"]["added"], report["summary"]["removed"], report["complete"],
                     os.getloadavg()[0]))
    print(f"sgproof diff benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, median of "
          f"{args.repeat} runs, seed {args.seed}, mutation seed {args.mutation_seed}"
          f"{' (+ membership, NACL, route)' if args.extra else ''}, routing {args.routing}, sgproof {revision()}")
    print()
    print("| ENIs | floor OLD+NEW (s) | diff (s) | ratio | growth ×2 | added / removed groups | complete | load |")
    print("| ---: | ---: | ---: | ---: | ---: | :---: | :---: | ---: |")
    for enis, floor, wall, ratio, growth, added, removed, complete, load in rows:
        g = "–" if growth != growth else f"{growth:.2f}"
        print(f"| {enis:,} | {floor:.2f} | {wall:.2f} | {ratio:.1f} | {g} | {added} / {removed} | {complete} | "
              f"{load:.1f} |")
    ok = all(r[3] <= TARGET_RATIO for r in rows if r[0] == 10000)
    if any(r[0] == 10000 for r in rows):
        print(f"\n- {'PASS' if ok else 'FAIL'}: 10k ENIs within {TARGET_RATIO:.0f}× the floor of both snapshots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
