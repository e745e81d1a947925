"""Benchmark `verify --explain` (or, with --fix, `verify --fix`) against plain `verify` on one generated
network (issue 13: --explain within 3x; --fix may be slower, and this says by how much).

Runs the two alternately (so that the shared machine's load falls on both alike), reports the median
wall time of each, their ratio, and per proven invariant the number of re-checks its explanation took,
the size of its `rests_on`, or why it has none.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run(cmd: list[str], out: Path) -> float:
    t = time.perf_counter()
    with out.open("w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode not in (0, 1):
        sys.exit(f"verify failed ({proc.returncode}): {proc.stderr.strip()}")
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enis", type=int, default=10_000)
    ap.add_argument("--profile", default="friendly", choices=("friendly", "heterogeneous"))
    ap.add_argument("--routing", default="on", choices=("on", "off"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None, help="passed to sgproof verify --jobs")
    ap.add_argument("--fix", action="store_true", help="measure verify --fix instead of --explain")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "explain"))
    args = ap.parse_args(argv)
    out = Path(args.out) / f"{args.profile}-{args.routing}-{args.enis}"
    if not (out / "network.json").exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--enis", str(args.enis), "--out", str(out),
                        "--profile", args.profile, "--routing", args.routing], check=True, stdout=subprocess.DEVNULL)
    exe = str(Path(sys.executable).with_name("sgproof"))
    cmd = [exe, "verify", str(out / "spec.yaml"), "--snapshot", str(out / "network.json"), "--format", "json",
           "--quiet"] + (["--jobs", str(args.jobs)] if args.jobs else [])
    plain, explained = [], []
    for _ in range(args.repeat):
        plain.append(run(cmd, out / "plain.json"))
        explained.append(run([*cmd, "--fix" if args.fix else "--explain"], out / "explain.json"))
    p, e = statistics.median(plain), statistics.median(explained)
    print(f"{args.profile} routing {args.routing}, {args.enis} ENIs, median of {args.repeat}, --jobs "
          f"{args.jobs or 'default'}")
    print(f"verify {p:.1f} s, verify {'--fix' if args.fix else '--explain'} {e:.1f} s: {e / p:.1f}x")
    doc = json.loads((out / "explain.json").read_text())
    if args.fix:
        for r in doc["results"]:
            rep = r.get("repair")
            if r["status"] == "refuted":
                said = "no repair" if rep is None else (
                    f"{len(rep['changes'])} change(s) in {rep['rounds']} round(s)" if rep["verified"]
                    else f"not repaired: {rep.get('note', '')}")
                print(f"  {r['id']} ({r['kind']}): {said}")
        return 0
    for r in doc["results"]:
        if r["status"] != "proven":
            continue
        if r.get("rests_on") is None:
            print(f"  {r['id']} ({r['kind']}): {r.get('rests_on_error', 'no explanation')} "
                  f"({r['rests_on_seconds']:.1f} s)")
        else:
            print(f"  {r['id']} ({r['kind']}): rests on {len(r['rests_on'])} part(s), {r['rests_on_checks']} checks, "
                  f"{r['rests_on_seconds']:.1f} s (the check itself {r['seconds']:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
