"""Mutated specs never crash: exit 0, 1 or 2, and for 2 exactly one `sgproof: error:` line per error."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main

ROOT = Path(__file__).resolve().parents[1]
NET = str(ROOT / "examples" / "seed-blog" / "network.json")
CORPUS = sorted([*ROOT.glob("examples/*/spec.yaml"), *ROOT.glob("tests/cases/*/spec.yaml")])
PER_SPEC = 40
SNIPPETS = [
    "{", "}", "[", "]", ": ", ", ", "-", "*", "&a ", "*a", "!!set ", "!x ", "? ", "'", '"', "#", "\n", "\t",
    "²", "٣", "０", "\x00", "\u2028", "99999999999999999999", "-1", "0", "65536", "/", "tcp/", "udp/53-",
    "1024-", "::", "0.0.0.0/0", "10.0.0.1", "010.0.0.1", "not: ", "any_of: []", "all_of: [x]", "tag: {}",
    "internet: false", "allow_empty: true", "except_ports: all", "severity: low", "except: []",
    "include: [pack:x]", "source: ''", "&b [*b]", "~", "null", "yes", "<<: *a",
]
WORDS = ["deny", "only", "reach", "from", "to", "ports", "groups", "invariants", "id", "cidr", "security_group",
         "tag", "not", "any_of", "all_of", "internet", "anywhere", "settings", "ephemeral_ports", "sgproof"]


def mutate(text: str, rng: random.Random) -> str:
    """One to three random edits: characters, tokens, lines or a known-bad snippet."""
    for _ in range(rng.randint(1, 3)):
        lines = text.split("\n")
        op = rng.randrange(8)
        pos = rng.randrange(len(text) + 1)
        if op == 0 and text:
            text = text[:pos] + text[pos + 1:]
        elif op == 1:
            text = text[:pos] + rng.choice(SNIPPETS) + text[pos:]
        elif op == 2 and len(lines) > 1:
            i = rng.randrange(len(lines))
            del lines[i]
            text = "\n".join(lines)
        elif op == 3:
            i = rng.randrange(len(lines))
            lines.insert(i, lines[rng.randrange(len(lines))])
            text = "\n".join(lines)
        elif op == 4:
            word = rng.choice(WORDS)
            if word in text:
                text = text.replace(word, rng.choice(WORDS), 1)
        elif op == 5:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif op == 6:
            text = text[:pos]
        else:
            i = rng.randrange(len(lines))
            lines[i] = " " * rng.randint(0, 6) + lines[i].lstrip()
            text = "\n".join(lines)
    return text


def _cases() -> list[tuple[str, int]]:
    return [(str(p.relative_to(ROOT)), n) for p in CORPUS for n in range(PER_SPEC)]


@pytest.mark.parametrize(("spec", "n"), _cases())
def test_mutated_spec_gives_a_verdict_or_one_line_per_error(tmp_path: Path, spec: str, n: int) -> None:
    rng = random.Random(f"{spec}:{n}")
    text = mutate((ROOT / spec).read_text(encoding="utf-8"), rng)
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    res = CliRunner().invoke(main, ["verify", str(path), "--snapshot", NET, "--format", "json", "--jobs", "1"])
    assert res.exception is None or isinstance(res.exception, SystemExit), (text, repr(res.exception))
    assert res.exit_code in (0, 1, 2), text
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    lines = res.stderr.strip().splitlines()
    if res.exit_code == 2:
        assert lines and all(line.startswith("sgproof: error: ") for line in lines), (text, res.stderr)
        errors = json.loads(res.stdout)["summary"]["errors"] if res.stdout else 1
        assert len(lines) == errors, (text, res.stderr)
    else:
        assert not any(line.startswith("sgproof: error:") for line in lines), (text, res.stderr)
        assert json.loads(res.stdout)["summary"]["errors"] == 0
