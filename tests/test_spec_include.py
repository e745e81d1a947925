"""`include: [pack:NAME]` and `verify pack:NAME`: a pack's invariants join the spec, never silently dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgproof.errors import InputError
from sgproof.spec import parse
from sgproof.spec.parse import load_spec, load_spec_text

PACK = ("sgproof: 1\nname: demo\ngroups:\n  admin-ports: {anywhere: true}\ninvariants:\n"
        "  - id: demo-no-ssh\n    severity: medium\n    deny: {from: {internet: true}, to: admin-ports, ports: tcp/22}\n")


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "demo.yaml").write_text(PACK)
    monkeypatch.setattr(parse, "known_packs", lambda: {"demo": tmp_path / "demo.yaml"})
    return tmp_path


def test_included_pack_adds_its_invariants_and_groups(packs: Path) -> None:
    spec = load_spec_text("sgproof: 1\ninclude: [pack:demo]\ninvariants:\n"
                          "  - id: mine\n    deny: {to: {anywhere: true}, ports: tcp/23}\n", "<t>")
    assert [i.id for i in spec.invariants] == ["mine", "demo-no-ssh"]
    assert spec.invariants[1].severity == "medium" and "admin-ports" in spec.groups
    assert spec.includes == ("demo",)


def test_included_pack_clashes_are_errors(packs: Path) -> None:
    with pytest.raises(InputError, match=r"<t>:2:11: pack:demo has an invariant demo-no-ssh"):
        load_spec_text("sgproof: 1\ninclude: [pack:demo]\ninvariants:\n"
                       "  - id: demo-no-ssh\n    deny: {to: {anywhere: true}}\n", "<t>")
    with pytest.raises(InputError, match=r"<t>:2:11: pack:demo defines the group admin-ports"):
        load_spec_text("sgproof: 1\ninclude: [pack:demo]\ngroups: {admin-ports: {cidr: 10.0.0.0/8}}\n"
                       "invariants:\n  - id: x\n    deny: {to: admin-ports}\n", "<t>")


def test_pack_as_the_spec(packs: Path) -> None:
    assert [i.id for i in load_spec("pack:demo").invariants] == ["demo-no-ssh"]
    with pytest.raises(InputError, match=r"^unknown pack pack:nosuch \(built-in packs: pack:demo\)$"):
        load_spec("pack:nosuch")


def test_a_pack_including_itself_is_an_error(packs: Path) -> None:
    (packs / "demo.yaml").write_text(PACK.replace("name: demo\n", "name: demo\ninclude: [pack:demo]\n"))
    with pytest.raises(InputError, match="pack:demo includes itself"):
        load_spec("pack:demo")
