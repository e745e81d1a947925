"""Benchmark sgproof verify against the json.load floor on generated networks of several sizes."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GIB = 1 << 30
FLOOR_CODE = (
    "import json, sys, time\n"
    "t, c = time.perf_counter(), time.process_time()\n"
    "with open(sys.argv[1], 'rb') as fh:\n"
    "    json.load(fh)\n"
    "print(time.perf_counter() - t, time.process_time() - c)\n"
)
TARGET_RATIO = 10.0  # at 10k ENIs
TARGET_GROWTH = 2.1
TARGET_100K_SECONDS = 60.0
TARGET_100K_RSS = 2 * GIB
GENERATOR_FILES = ("generate.py", "gen_hetero.py", "gen_routes.py", "gen_shapes.py")
PROFILES = ("friendly", "heterogeneous")


# -------------------------------------------------------------------- the measuring wrapper
def tree_pids(root: int) -> list[int]:
    """The process and all its live descendants, from /proc."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    todo += [int(x) for x in fh.read().split()]
        except OSError:
            continue
    return out


def status_rss_kib(pid: int) -> int:
    """Resident set size of one process in KiB from /proc/PID/status (cheap to read)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size of one process in KiB; walks the page tables, so it is sampled rarely."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_child(stdout_path: str, cmd: list[str]) -> int:
    """Run `cmd` once; print its wall time, exit code and memory peaks as JSON.

    maxrss_kib is the largest single process (getrusage, exact); tree_rss_kib sums the RSS of the
    process tree every 0.5 s (an upper bound: pages a forked worker shares with its parent count
    twice); tree_pss_kib sums the PSS of the tree every 5 s (shared pages split fairly).
    """
    peaks = {"tree_rss_kib": 0, "tree_pss_kib": 0}
    done = threading.Event()
    with open(stdout_path, "wb") as out, open(stdout_path + ".stderr", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)

        def sample() -> None:
            tick = 0
            while not done.wait(0.5):
                pids = tree_pids(proc.pid)
                peaks["tree_rss_kib"] = max(
                    peaks["tree_rss_kib"], sum(status_rss_kib(p) for p in pids)
                )
                if tick % 10 == 9:
                    peaks["tree_pss_kib"] = max(
                        peaks["tree_pss_kib"], sum(pss_kib(p) for p in pids)
                    )
                tick += 1

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = proc.wait()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"wall": wall, "cpu": cpu, "rc": rc, "maxrss_kib": usage.ru_maxrss, **peaks}))
    return 0


# -------------------------------------------------------------------- the benchmark
@dataclass
class SizeResult:
    """Everything measured for one network size."""

    enis: int
    profile: str = "friendly"
    routing: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    classes: int = 0
    atoms: int = 0
    snapshot_bytes: int = 0
    floors: list[float] = field(default_factory=list)
    floor_cpus: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    maxrss_kib: list[int] = field(default_factory=list)
    tree_rss_kib: list[int] = field(default_factory=list)
    tree_pss_kib: list[int] = field(default_factory=list)
    verdicts: list[dict[str, str]] = field(default_factory=list)
    summaries: list[dict[str, int]] = field(default_factory=list)
    per_invariant: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    @property
    def floor(self) -> float:
        """Median json.load time."""
        return statistics.median(self.floors) if self.floors else float("nan")

    @property
    def floor_cpu(self) -> float:
        """Median CPU time of json.load."""
        return statistics.median(self.floor_cpus) if self.floor_cpus else float("nan")

    @property
    def cpu(self) -> float:
        """Median CPU time (user + system) of the whole verify process tree."""
        return statistics.median(self.cpus) if self.cpus else float("nan")

    @property
    def wall(self) -> float:
        """Median end-to-end verify time."""
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def peak_bytes(self) -> int:
        """Peak memory of sgproof: the largest single process, or the sampled tree PSS if larger."""
        values = self.maxrss_kib + self.tree_pss_kib
        return max(values) * 1024 if values else 0

    @property
    def tree_rss_bytes(self) -> int:
        """Peak of the summed RSS of the process tree (counts fork-shared pages once per process)."""
        return max(self.tree_rss_kib, default=0) * 1024


def revision() -> str:
    """The commit of the sgproof source under test, marked dirty when src/ has uncommitted changes."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return head.stdout.strip() + (" + uncommitted changes in src/" if dirty.stdout.strip() else "")


def export_revision(rev: str, out: Path) -> tuple[Path, str]:
    """Export src/ of one commit into bench/out/src-<sha>, so a shared working tree cannot change the run."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = out / f"src-{sha}"
    if not (target / "src" / "sgproof" / "__init__.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", sha, "src"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src", sha


def compile_sources(src: Path) -> None:
    """Byte-compile sgproof's sources before timing. An installed package is compiled when pip installs
    it, and Python caches what it imports; but an editable install under PYTHONDONTWRITEBYTECODE (as on
    this machine) would compile every module again in every run, about 0.2 s that no user pays."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src / "sgproof")], check=True,
                   stdout=subprocess.DEVNULL)


def add_run_options(parser: argparse.ArgumentParser, what: str) -> None:
    """The options every benchmark that runs sgproof on generated networks shares (diff, lint, workloads):
    routing, runs per size, generator seed, output folder, timeout and the command that runs sgproof."""
    parser.add_argument("--routing", choices=("on", "off"), default="on")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (median reported)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where networks and results go")
    parser.add_argument("--timeout", type=float, default=900.0, help=f"seconds before a {what} run counts as failed")
    parser.add_argument("--sgproof", default=None, help="command that runs sgproof (default: the venv's)")


def sgproof_command(override: str | None) -> list[str]:
    """The command that runs sgproof: --sgproof, else the venv's entry point, else python -m sgproof."""
    if override:
        return override.split()
    script = Path(sys.executable).parent / "sgproof"
    if script.exists():
        return [str(script)]
    found = shutil.which("sgproof")
    return [found] if found else [sys.executable, "-m", "sgproof"]


def generator_digest() -> str:
    """A hash of every generator source, so that a cached network is reused only when they are unchanged."""
    h = hashlib.sha256()
    for name in GENERATOR_FILES:
        h.update((HERE / name).read_bytes())
    return h.hexdigest()


def generate(
    enis: int, seed: int, out: Path, force: bool, profile: str = "friendly", routing: bool = True
) -> dict[str, Any]:
    """Generate one network into `out`, reusing an earlier output made by the same generator and seed."""
    stamp = out / "stamp.json"
    wanted = {
        "enis": enis,
        "seed": seed,
        "profile": profile,
        "routing": routing,
        "generator": generator_digest(),
    }
    if not force and stamp.exists():
        old = json.loads(stamp.read_text())
        if {k: old.get(k) for k in wanted} == wanted and (out / "network.json").exists():
            info: dict[str, Any] = old["info"]
            return info
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "generate.py"),
            "--enis",
            str(enis),
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--profile",
            profile,
            "--routing",
            "on" if routing else "off",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"generating {profile} {enis} ENIs failed:\n{proc.stderr}")
    info = json.loads(proc.stdout)
    info["generate_seconds"] = round(time.perf_counter() - started, 2)
    stamp.write_text(json.dumps({**wanted, "info": info}))
    return info


def measure_floor(network: Path) -> tuple[float, float]:
    """json.load of the snapshot in a fresh interpreter, timed inside it: (wall, CPU) seconds."""
    proc = subprocess.run(
        [sys.executable, "-c", FLOOR_CODE, str(network)], capture_output=True, text=True, check=True
    )
    wall, cpu = proc.stdout.split()
    return float(wall), float(cpu)


def measure_verify(cmd: list[str], out: Path, timeout: float) -> dict[str, Any]:
    """One verify run inside its own wrapper process, so that its rusage covers only this run."""
    stdout_path = out / "verify.json"
    wrapper = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--measure-child",
        str(stdout_path),
        "--",
        *cmd,
    ]
    proc = subprocess.run(wrapper, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"measuring wrapper failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stdout"] = stdout_path.read_text(encoding="utf-8", errors="replace")
    result["stderr"] = Path(str(stdout_path) + ".stderr").read_text(
        encoding="utf-8", errors="replace"
    )
    return result


def case_name(profile: str, routing: bool) -> str:
    """`friendly, routed` and the like."""
    return f"{profile}, {'routed' if routing else 'unrouted'}"


def run_size(
    enis: int, args: argparse.Namespace, base: list[str], profile: str, routing: bool
) -> SizeResult:
    """Generate one network, then alternate floor and verify runs `--repeat` times."""
    out = args.out / f"{profile}-{'routed' if routing else 'unrouted'}" / str(enis)
    res = SizeResult(enis, profile, routing)
    tag = f"{case_name(profile, routing)} {enis}"
    log(f"[{tag}] generating ...")
    res.info = generate(enis, args.seed, out, args.regenerate, profile, routing)
    network, spec = out / "network.json", out / "spec.yaml"
    res.snapshot_bytes = network.stat().st_size
    expected = json.loads((out / "expected.json").read_text())
    cmd = [*base, "verify", str(spec), "--snapshot", str(network), "--format", "json", "--quiet"]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    for i in range(args.repeat):
        res.loads.append(os.getloadavg()[0])
        floor, floor_cpu = measure_floor(network)
        res.floors.append(floor)
        res.floor_cpus.append(floor_cpu)
        try:
            run = measure_verify(cmd, out, args.timeout)
        except subprocess.TimeoutExpired:
            res.problems.append(f"run {i + 1}: verify did not finish within {args.timeout:.0f} s")
            log(f"[{tag}] run {i + 1}: timeout")
            break
        log(
            f"[{tag}] run {i + 1}: floor {res.floors[-1]:.2f} s, verify {run['wall']:.2f} s (CPU {run['cpu']:.2f} s), exit {run['rc']}, peak {run['maxrss_kib'] / 1024:.0f} MiB"
        )
        try:
            report = json.loads(run["stdout"])
        except json.JSONDecodeError:
            report = None
        if run["rc"] not in (0, 1):
            errors = [
                f"{r['id']}: {r.get('error', '')}"
                for r in (report or {}).get("results", [])
                if r.get("status") == "error"
            ]
            detail = "; ".join(errors) or run["stderr"].strip()[-600:]
            res.problems.append(f"run {i + 1}: exit {run['rc']}: {detail}")
            break
        if report is None:
            res.problems.append(f"run {i + 1}: stdout is not JSON: {run['stdout'][:300]!r}")
            break
        res.walls.append(run["wall"])
        res.cpus.append(run["cpu"])
        res.maxrss_kib.append(run["maxrss_kib"])
        res.tree_rss_kib.append(run["tree_rss_kib"])
        res.tree_pss_kib.append(run["tree_pss_kib"])
        statuses = {r["id"]: r["status"] for r in report["results"]}
        covered = next((r["covered"] for r in report["results"] if r.get("covered")), {})
        res.classes = int(covered.get("eni_classes", 0))
        res.atoms = int(covered.get("address_atoms", 0))
        res.verdicts.append(statuses)
        res.summaries.append(report.get("summary", {}))
        for r in report["results"]:
            res.per_invariant.setdefault(r["id"], []).append(float(r.get("seconds") or 0.0))
        errors = sorted(k for k, v in statuses.items() if v == "error")
        if errors:
            res.problems.append(f"run {i + 1}: invariants in error: {', '.join(errors)}")
        wrong = sorted(k for k, v in statuses.items() if expected.get(k) != v)
        if wrong:
            log(f"[{tag}] run {i + 1}: VERDICTS DIFFER FROM THE DESIGN: {', '.join(wrong)}")
            res.problems.append(
                f"run {i + 1}: verdicts differ from the design: "
                + ", ".join(f"{k} is {statuses.get(k)}, designed {expected.get(k)}" for k in wrong)
            )
        if (run["rc"] == 1) != ("refuted" in statuses.values()):
            res.problems.append(f"run {i + 1}: exit {run['rc']} does not match the verdicts")
    return res


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def fmt(value: float, digits: int = 2) -> str:
    """A number for the table, or a dash when it was not measured."""
    return "–" if value != value else f"{value:.{digits}f}"  # NaN check


def growth(results: dict[int, SizeResult], enis: int, cpu: bool = False) -> float:
    """Time (wall, or CPU) at `enis` over time at half of it, when both were measured."""
    half = results.get(enis // 2) if enis % 2 == 0 else None
    if half is None or not half.walls or not results[enis].walls:
        return float("nan")
    if cpu:
        return results[enis].cpu / half.cpu
    return results[enis].wall / half.wall


Cases = dict[tuple[str, bool], dict[int, SizeResult]]


def report(cases: Cases, args: argparse.Namespace) -> tuple[str, bool]:
    """The Markdown report of every profile and routing mode, and whether every answer was as designed."""
    lines = [
        f"sgproof benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"median of {args.repeat} runs, --jobs {args.jobs or 'default'}, seed {args.seed}, sgproof {args.revision}",
        "",
        "| profile | routing | ENIs | SGs | addresses | classes | class share | atoms | snapshot MB | json.load floor (s) | verify (s) | ratio | growth ×2 | floor CPU (s) | verify CPU (s) | CPU ratio | CPU growth ×2 | peak RSS (MiB) | tree RSS sum (MiB) | proven / refuted / error | load avg |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: |",
    ]
    for (profile, routing), results in cases.items():
        for enis, r in sorted(results.items()):
            s = r.summaries[0] if r.summaries else {}
            verdict = f"{s.get('proven', '–')} / {s.get('refuted', '–')} / {s.get('errors', '–')}"
            share = f"{100 * r.classes / enis:.1f} %" if r.classes else "–"
            lines.append(
                f"| {profile} | {'on' if routing else 'off'} | {enis:,} | {r.info.get('security_groups', 0):,} | "
                f"{r.info.get('addresses', 0):,} | {r.classes:,} | {share} | {r.atoms:,} | "
                f"{r.snapshot_bytes / 1e6:.1f} | {fmt(r.floor)} | {fmt(r.wall)} | {fmt(r.wall / r.floor, 1)} | "
                f"{fmt(growth(results, enis))} | {fmt(r.floor_cpu)} | {fmt(r.cpu)} | {fmt(r.cpu / r.floor_cpu, 1)} | "
                f"{fmt(growth(results, enis, cpu=True))} | "
                f"{r.peak_bytes / 2**20:.0f} | {r.tree_rss_bytes / 2**20:.0f} | {verdict} | "
                f"{fmt(max(r.loads) if r.loads else float('nan'), 1)} |"
            )
    lines += [
        "",
        "classes = ENI classes (same subnet, groups and address atoms), class share = classes / ENIs, "
        "atoms = address atoms, both as sgproof reports them; ratio = verify / floor; growth ×2 = verify "
        "time over the same profile and routing at half the size; CPU = user + system time of json.load and of the "
        "whole verify process tree (workers included; it counts what the run did, not what the other sessions on "
        "the machine made it wait, so on a loaded machine it is the steadier figure, while the targets are on wall "
        "time); peak RSS = the larger "
        "of the biggest single process (getrusage) and the PSS of the whole process tree sampled every 5 s; "
        "tree RSS sum = the RSS of all sgproof processes summed every 0.5 s, an upper bound that counts pages "
        "forked workers share with their parent once per process; load avg = "
        f"highest 1-minute load average seen before a run (above {os.cpu_count()} the machine was shared).",
        "",
        "Targets:",
    ]
    checks: list[tuple[str, bool | None]] = []
    for (profile, routing), results in cases.items():
        name = case_name(profile, routing)
        if 10000 in results:
            r = results[10000]
            checks.append(
                (
                    f"{name}: 10k ENIs within {TARGET_RATIO:.0f}× the json.load floor ({fmt(r.wall / r.floor, 1)}×)",
                    bool(r.walls) and r.wall / r.floor <= TARGET_RATIO,
                )
            )
        for enis in sorted(results):
            g = growth(results, enis)
            if g == g:
                checks.append(
                    (
                        f"{name}: {enis // 2:,} → {enis:,} ENIs costs at most {TARGET_GROWTH}× ({g:.2f}×)",
                        g <= TARGET_GROWTH,
                    )
                )
        if 100000 in results:
            r = results[100000]
            checks.append(
                (
                    f"{name}: 100k ENIs under {TARGET_100K_SECONDS:.0f} s ({fmt(r.wall)} s)",
                    bool(r.walls) and r.wall < TARGET_100K_SECONDS,
                )
            )
            checks.append(
                (
                    f"{name}: 100k ENIs under 2 GiB peak RSS ({r.peak_bytes / 2**20:.0f} MiB)",
                    bool(r.walls) and r.peak_bytes < TARGET_100K_RSS,
                )
            )
    for text, ok in checks:
        lines.append(f"- {'PASS' if ok else 'FAIL'}: {text}")
    consistent = True
    lines += ["", "Verdicts (each profile and routing mode against its designed verdicts):"]
    for (profile, routing), results in cases.items():
        name = case_name(profile, routing)
        reference: dict[str, str] | None = None
        ok = True
        for enis, r in sorted(results.items()):
            for i, v in enumerate(r.verdicts):
                if reference is None:
                    reference = v
                elif v != reference:
                    ok = False
                    diff = sorted(
                        k for k in set(v) | set(reference) if v.get(k) != reference.get(k)
                    )
                    lines.append(
                        f"- FAIL: {name}: {enis:,} ENIs run {i + 1} answers differently on {', '.join(diff)}"
                    )
            for problem in r.problems:
                ok = False
                lines.append(f"- FAIL: {name}: {enis:,} ENIs {problem}")
        if ok and reference is not None:
            refuted = sorted(k for k, v in reference.items() if v == "refuted")
            lines.append(
                f"- PASS: {name}: identical verdicts across all sizes and runs, as designed (refuted: {', '.join(refuted)})"
            )
        consistent = consistent and ok
    for (profile, routing), results in cases.items():
        lines += [
            "",
            f"Slowest invariants, {case_name(profile, routing)} (median seconds inside sgproof):",
            "",
        ]
        lines.append("| invariant | " + " | ".join(f"{e:,}" for e in sorted(results)) + " |")
        lines.append("| --- |" + " ---: |" * len(results))
        largest = results[max(results)]
        order = sorted(
            largest.per_invariant, key=lambda k: -statistics.median(largest.per_invariant[k])
        )
        for inv in order[: args.top]:
            cells = [
                fmt(statistics.median(results[e].per_invariant[inv]), 3)
                if inv in results[e].per_invariant
                else "–"
                for e in sorted(results)
            ]
            lines.append(f"| {inv} | " + " | ".join(cells) + " |")
    return "\n".join(lines), consistent


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--measure-child"]:
        return measure_child(argv[1], argv[3:] if argv[2:3] == ["--"] else argv[2:])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default="5000,10000,50000,100000", help="comma-separated ENI counts"
    )
    parser.add_argument(
        "--profiles",
        default=",".join(PROFILES),
        help=f"comma-separated generator profiles (default {','.join(PROFILES)})",
    )
    parser.add_argument(
        "--routing",
        choices=("on", "off", "both"),
        default="both",
        help="benchmark the networks with route tables, without, or both side by side (default both)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs per size (median reported)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="passed to sgproof verify --jobs (default: sgproof's own)",
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument(
        "--out", type=Path, default=HERE / "out", help="where networks and results go"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds before a verify run counts as failed"
    )
    parser.add_argument(
        "--sgproof", default=None, help="command that runs sgproof (default: the venv's)"
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="generate even when a cached network matches"
    )
    parser.add_argument("--top", type=int, default=8, help="slowest invariants to list")
    parser.add_argument(
        "--rev",
        default=None,
        help="benchmark this commit's src/ (exported with git archive) instead of the working tree",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    unknown = sorted(set(profiles) - set(PROFILES))
    if unknown:
        parser.error(f"unknown profile {', '.join(unknown)}; expected {', '.join(PROFILES)}")
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.routing]
    if args.rev:
        src, args.revision = export_revision(args.rev, args.out)
        os.environ["PYTHONPATH"] = str(src) + os.pathsep + os.environ.get("PYTHONPATH", "")
        base = [sys.executable, "-m", "sgproof"]
        compile_sources(src)
    else:
        args.revision = revision()
        base = sgproof_command(args.sgproof)
        compile_sources(ROOT / "src")
    cases: Cases = {}
    for (
        enis
    ) in sizes:  # size by size, so that a long run reports the small sizes of every case first
        for profile in profiles:
            for routing in modes:
                cases.setdefault((profile, routing), {})[enis] = run_size(
                    enis, args, base, profile, routing
                )
    text, consistent = report(cases, args)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text + "\n", encoding="utf-8")
    raw = {
        case_name(profile, routing): {
            str(e): {
                "info": r.info,
                "eni_classes": r.classes,
                "address_atoms": r.atoms,
                "snapshot_bytes": r.snapshot_bytes,
                "floors": r.floors,
                "floor_cpus": r.floor_cpus,
                "cpus": r.cpus,
                "walls": r.walls,
                "maxrss_kib": r.maxrss_kib,
                "tree_rss_kib": r.tree_rss_kib,
                "tree_pss_kib": r.tree_pss_kib,
                "summaries": r.summaries,
                "per_invariant": r.per_invariant,
                "problems": r.problems,
                "load_averages": r.loads,
            }
            for e, r in results.items()
        }
        for (profile, routing), results in cases.items()
    }
    (args.out / "results.json").write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    if not consistent:
        log(
            "\n*** BENCHMARK FAILED: some verdicts differ from the design or an invariant is in "
            "error (see 'Verdicts' above); the timings of such a run mean nothing. ***"
        )
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())
