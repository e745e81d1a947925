"""The command line end to end: golden cases, JSON shape, and one-line errors with exit 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main
from sgproof.spec import load_spec

CASES = Path(__file__).parent / "cases"
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_case(case: str) -> None:
    folder = CASES / case
    expected = json.loads((folder / "expected.json").read_text())
    code, out, err = run("verify", str(folder / "spec.yaml"), "--format", "json", "--jobs", "1")
    assert code == expected["exit_code"], err
    doc = json.loads(out)
    assert {r["id"]: r["status"] for r in doc["results"]} == expected["results"]


def test_json_output_follows_the_contract() -> None:
    code, out, _ = run("verify", str(CASES / "seed-blog" / "spec.yaml"), "--format", "json", "--jobs", "2")
    assert code == 1
    doc = json.loads(out)
    assert set(doc) >= {"sgproof", "spec", "source", "assumptions", "results", "summary"}
    assert doc["source"]["kind"] == "snapshot"
    assert doc["assumptions"]["ephemeral_ports"] == "1024-65535"
    assert doc["summary"] == {"proven": 4, "refuted": 1, "errors": 0}
    refuted = next(r for r in doc["results"] if r["status"] == "refuted")
    cx = refuted["counterexample"]
    assert cx["protocol"] == "tcp" and cx["dst_port"] == 3306 and cx["allowed"] is True
    assert 1024 <= cx["src_port"] <= 65535
    assert cx["src"]["external"] is False and cx["src"]["eni"].startswith("eni-")
    gates = [s["gate"] for s in cx["trace"]]
    assert gates == ["sg-egress", "route", "nacl-out", "nacl-in", "sg-ingress", "route-reply", "nacl-reply-out",
                     "nacl-reply-in"]
    assert doc["assumptions"]["routing"] == "modelled"
    assert all(set(s) >= {"gate", "id", "rule", "verdict"} for s in cx["trace"])


def test_text_output_names_the_flow_and_the_trace() -> None:
    code, out, _ = run("verify", str(CASES / "seed-blog" / "spec.yaml"), "--jobs", "1")
    assert code == 1
    assert "REFUTED no-app-mysql" in out
    assert "tcp 10.0.3.20:1024 -> 10.0.1.11:3306" in out
    assert "5. security group ingress (destination ENI): sg-0d1e2f3a4b5c60004 (shared-self-sg) all from sg-0d1e2f3a4b5c60004" in out
    assert "2. route (source subnet's table, request): rtb-0a1b2c3d4e5f60001 10.0.0.0/16 -> local => allow" in out
    assert "assumptions: routing modelled" in out


def test_reach_refutation_names_every_blocking_gate(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "sgproof: 1\ninvariants:\n  - id: app-mysql\n"
        "    reach: {from: {security_group: xxx-mysql}, to: {tag: {Role: app}}, ports: tcp/3306}\n"
    )
    code, out, _ = run("verify", str(spec), "--snapshot", str(CASES / "seed-blog" / "network.json"),
                       "--format", "json")
    assert code == 1
    cx = json.loads(out)["results"][0]["counterexample"]
    assert cx["allowed"] is False
    assert cx["trace"][-1]["verdict"] in ("deny", "no-match")
    assert cx["blocked_by"] and cx["blocked_by"][0]["gate"] == "sg-ingress"


def _snapshot(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    doc = json.loads((CASES / "seed-blog" / "network.json").read_text())
    mutate(doc)
    out = tmp_path / "network.json"
    out.write_text(json.dumps(doc))
    return out


BAD_SNAPSHOTS = {
    "missing-key": (lambda d: d.pop("NetworkAcls"), "NetworkAcls"),
    "bad-cidr": (lambda d: d["SecurityGroups"][0]["IpPermissionsEgress"][0]["IpRanges"][0].update(CidrIp="10.0.0.300/8"),
                 "SecurityGroups[0].IpPermissionsEgress[0].IpRanges[0].CidrIp"),
    "unknown-protocol": (lambda d: d["SecurityGroups"][2]["IpPermissions"][0].update(IpProtocol="tcpx"),
                         "SecurityGroups[2].IpPermissions[0].IpProtocol"),
    "undescribed-group": (lambda d: d["NetworkInterfaces"][0]["Groups"].append({"GroupId": "sg-0123"}),
                          "NetworkInterfaces[0].Groups[1].GroupId"),
    "missing-prefix-list": (
        lambda d: d["SecurityGroups"][2]["IpPermissions"][0].update(PrefixListIds=[{"PrefixListId": "pl-0abc"}]),
        "SecurityGroups[2].IpPermissions[0].PrefixListIds[0]"),
    "duplicate-group": (lambda d: d["SecurityGroups"].append(dict(d["SecurityGroups"][0])), "SecurityGroups[4]"),
}


@pytest.mark.parametrize("name", sorted(BAD_SNAPSHOTS))
def test_bad_snapshot_is_one_line_and_exit_2(tmp_path: Path, name: str) -> None:
    mutate, place = BAD_SNAPSHOTS[name]
    snap = _snapshot(tmp_path, mutate)
    code, _out, err = run("verify", str(CASES / "seed-blog" / "spec.yaml"), "--snapshot", str(snap))
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{snap}:{place}: expected" in err


BAD_SPECS = {
    "yaml-syntax": ("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: [\n", ":5:1: expected valid YAML"),
    "unknown-selector-key": ("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: {securitygroup: a}}\n",
                             ":4:17: expected a selector key"),
    "bad-ports": ("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: {anywhere: true}, ports: tcp/99999}\n",
                  ":4:41: expected tcp/PORT"),
    "no-version": ("invariants:\n  - id: x\n    deny: {to: {anywhere: true}}\n", ":1:1: expected the key sgproof: 1"),
    "bad-cidr": ("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: {cidr: 10.0.0.1/8}}\n",
                 ":4:23: host bits set in 10.0.0.1/8"),
    "undefined-group": ("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: nosuch}\n", "expected a group defined"),
}


@pytest.mark.parametrize("name", sorted(BAD_SPECS))
def test_bad_spec_is_one_line_with_line_and_column(tmp_path: Path, name: str) -> None:
    text, fragment = BAD_SPECS[name]
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    code, _, err = run("verify", str(spec), "--snapshot", str(CASES / "seed-blog" / "network.json"))
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{spec}" in err and fragment in err


def test_selector_matching_nothing_is_an_error_unless_allowed(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    body = "    deny: {to: {tag: {Role: nothing}}}\n"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: x\n" + body)
    code, out, _ = run("verify", str(spec), "--snapshot", str(CASES / "seed-blog" / "network.json"), "--format", "json")
    assert code == 2
    assert json.loads(out)["results"][0]["status"] == "error"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: x\n    allow_empty: true\n" + body)
    code, _, _ = run("verify", str(spec), "--snapshot", str(CASES / "seed-blog" / "network.json"))
    assert code == 0


def test_directory_snapshot_reads_like_one_document(tmp_path: Path) -> None:
    doc = json.loads((CASES / "seed-blog" / "network.json").read_text())
    folder = tmp_path / "describe"
    folder.mkdir()
    for key, value in doc.items():
        (folder / f"{key}.json").write_text(json.dumps({key: value}))
    code, out, _ = run("verify", str(CASES / "seed-blog" / "spec.yaml"), "--snapshot", str(folder), "--format", "json")
    assert code == 1
    assert json.loads(out)["summary"]["refuted"] == 1


def test_bundled_examples_run() -> None:
    for spec in sorted((ROOT / "examples").glob("*/spec.yaml")):
        code, _, err = run("verify", str(spec), "--jobs", "1")
        assert code in (0, 1), (spec, err)


def test_query_answers_with_a_witness() -> None:
    code, out, _ = run("query", "--to", "{tag: {Role: app}}", "--ports", "tcp/3306",
                       "--snapshot", str(CASES / "seed-blog" / "network.json"))
    assert code == 0 and out.startswith("yes: a flow can go") and "tcp 10.0.3.20" in out
    code, out, _ = run("query", "--from", "{internet: true}", "--to", "{security_group: '*-mysql'}",
                       "--snapshot", str(CASES / "seed-blog" / "network.json"))
    assert code == 0 and out.startswith("no: proven that")


def test_a_json_report_does_not_load_the_html_or_terminal_renderers() -> None:
    """`--format json` in CI must not pay for networkx (HTML flow map) or rich (terminal): renderers
    are imported by format, on demand."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from sgproof.cli import main\n"
        f"res = CliRunner().invoke(main, ['verify', {str(ROOT / 'examples/three-tier/spec.yaml')!r}, "
        "'--format', 'json', '--quiet', '--jobs', '1'])\n"
        "assert res.exit_code in (0, 1), res.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('networkx', 'rich')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_parallel_results_come_back_in_spec_order() -> None:
    # the workers start reach invariants first (seed-blog's reach is its second): the report keeps the spec's order
    spec = CASES / "seed-blog" / "spec.yaml"
    order = [inv.id for inv in load_spec(str(spec)).invariants]
    assert [inv.kind for inv in load_spec(str(spec)).invariants].index("reach") > 0
    docs = [json.loads(run("verify", str(spec), "--format", "json", "--jobs", jobs)[1]) for jobs in ("1", "2")]
    assert [[r["id"] for r in d["results"]] for d in docs] == [order, order]
    assert docs[0]["results"] == [dict(r, seconds=a["seconds"]) for r, a in zip(docs[1]["results"], docs[0]["results"],
                                                                                  strict=True)]


class _Stream(io.StringIO):
    def __init__(self, log: list[str], name: str, broken: bool = False) -> None:
        super().__init__()
        self.log, self.name, self.broken = log, name, broken

    def flush(self) -> None:
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")
        self.log.append(f"flush {self.name}")


def _run_with(monkeypatch: pytest.MonkeyPatch, outcome: BaseException | None, broken: bool = False) -> list[str]:
    """cli.run over a main that ends with `outcome`; what it flushed and how it exited."""
    from sgproof import cli

    log: list[str] = []

    def fake_main() -> None:
        log.append("main")
        if outcome is not None:
            raise outcome

    def hard_exit(code: int) -> None:
        log.append(f"_exit {code}")
        raise SystemExit("hard")  # stands in for the end of the process

    monkeypatch.setattr(cli, "main", fake_main)
    monkeypatch.setattr(cli.os, "_exit", hard_exit)
    monkeypatch.setattr(cli.sys, "stdout", _Stream(log, "stdout", broken))
    monkeypatch.setattr(cli.sys, "stderr", _Stream(log, "stderr"))
    try:
        cli.run()
    except SystemExit as done:
        log.append(f"exit {done.code}")
    return log


def test_the_entry_point_flushes_then_ends_with_main_s_code(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run_with(monkeypatch, SystemExit(1)) == ["main", "flush stdout", "flush stderr", "_exit 1", "exit hard"]
    assert _run_with(monkeypatch, SystemExit(None))[-2:] == ["_exit 0", "exit hard"]
    assert _run_with(monkeypatch, None)[-2:] == ["_exit 0", "exit hard"]


def test_the_entry_point_leaves_messages_crashes_and_broken_pipes_to_the_ordinary_exit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run_with(monkeypatch, SystemExit("a message")) == ["main", "exit a message"]
    assert _run_with(monkeypatch, SystemExit(2), broken=True) == ["main", "exit 2"]
    with pytest.raises(RuntimeError, match="a bug"):
        _run_with(monkeypatch, RuntimeError("a bug"))
