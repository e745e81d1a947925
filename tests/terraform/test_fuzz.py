"""Mutated real plans (and a mutated --snapshot under a plan): an input error naming the right file and a
place in it, or success; never another exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from sgproof.errors import InputError
from sgproof.sources import load_network
from sgproof.sources.snapshot import build_network

from .conftest import EXAMPLES, PLANS

PLAN_FILES = sorted([*EXAMPLES.glob("*/plan*.json"), *PLANS.glob("*/plan.json")])
LIVE = EXAMPLES / "open-3306" / "live.json"
PLAN_KEYS = ("format_version", "resource_changes", "prior_state", "configuration", "planned_values",
             "variables", "terraform_version", "resource_drift", "output_changes", "relevant_attributes")

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-70000, 70000), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x", "tcp", "-1", "10.0.0.0/8", "::/0", "0.0.0.0/0", "sg-1", "100.5", "1.5",
                     "ingress", "egress", "managed", "data", "create", "delete"]),
    st.lists(st.sampled_from(["a", 1, None, {}, []]), max_size=2),
    st.dictionaries(st.sampled_from(["a", "id", "type"]), st.sampled_from([1, "x", None, []]), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    old = parent[last]
    if how == "delete" and isinstance(parent, dict):
        del parent[last]
    elif how == "half" and isinstance(old, int) and not isinstance(old, bool):
        parent[last] = old + 0.5
    elif how == "wrap":
        parent[last] = [old] if not isinstance(old, list) else {"0": old}
    else:
        parent[last] = value
    return doc


_CACHE: dict[Path, tuple[str, list[tuple[Any, ...]]]] = {}


def _load(path: Path) -> tuple[Any, list[tuple[Any, ...]]]:
    if path not in _CACHE:
        text = path.read_text()
        _CACHE[path] = (text, _paths(json.loads(text)))
    text, paths = _CACHE[path]
    return json.loads(text), paths


def _check(plan: Any, live: Any, blame: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plan_path, live_path = Path(tmp) / "plan.json", Path(tmp) / "live.json"
        plan_path.write_text(json.dumps(plan))
        if live is not None:
            live_path.write_text(json.dumps(live))
        try:
            load_network(terraform=str(plan_path), snapshot=str(live_path) if live is not None else None)
        except InputError as exc:
            want = plan_path if blame == "plan" else live_path
            assert exc.file == str(want), exc.render()
            if blame == "plan" and exc.place is not None:
                assert exc.place.startswith(PLAN_KEYS), exc.render()
            assert "\n" not in exc.render()


MUTATION = st.tuples(st.sampled_from(["set", "set", "delete", "half", "wrap"]), VALUES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_plans_are_read_or_refused_with_a_place(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(PLAN_FILES))
    plan, paths = _load(path)
    for _ in range(data.draw(st.integers(1, 2))):
        where = data.draw(st.sampled_from(paths))
        how, value = data.draw(MUTATION)
        try:
            plan = _mutate(plan, where, how, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the place
    live = json.loads(LIVE.read_text()) if path.parent.name == "open-3306" and data.draw(st.booleans()) else None
    _check(plan, live, "plan")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_snapshot_under_a_plan_is_blamed_on_the_snapshot(data: st.DataObject) -> None:
    live, paths = _load(LIVE)
    where = data.draw(st.sampled_from(paths))
    how, value = data.draw(MUTATION)
    live = _mutate(live, where, how, value)
    try:
        build_network(live, "live.json")
    except InputError:
        pass
    except Exception:
        reject()
    plan = json.loads((EXAMPLES / "open-3306" / "plan.json").read_text())
    _check(plan, live, "live")


def _find(plan: Any, rtype: str, index: int = 0) -> int:
    return [i for i, rc in enumerate(plan["resource_changes"]) if rc["type"] == rtype][index]


def _edit(mutate: Any) -> Any:
    plan = json.loads((EXAMPLES / "three-tier" / "plan.json").read_text())
    mutate(plan)
    return plan


CASES = {
    "no type": (lambda p: p["resource_changes"][0].pop("type"), r"resource_changes\[0\]\.type"),
    "change a list": (lambda p: p["resource_changes"][0].update(change=[]), r"resource_changes\[0\]\.change"),
    "resources a mapping": (lambda p: p["configuration"]["root_module"].update(resources={}),
                            r"configuration\.root_module\.resources: expected a list"),
    "address a number": (lambda p: p["resource_changes"][0].update(address=7), r"resource_changes\[0\]\.address"),
    "from_port 1.5": (lambda p: p["resource_changes"][_find(p, "aws_security_group_rule")]["change"]["after"]
                      .update(from_port=1.5), r"change\.after\.from_port .*integer"),
    "rule_number 100.5": (lambda p: p["resource_changes"][_find(p, "aws_network_acl_rule")]["change"]["after"]
                          .update(rule_number=100.5), r"change\.after\.rule_number .*integer"),
    "tags a list": (lambda p: p["resource_changes"][_find(p, "aws_vpc")]["change"]["after"]
                    .update(tags=["Name"]), r"change\.after\.tags .*map of strings"),
    "groups a string": (lambda p: p["resource_changes"][_find(p, "aws_instance")]["change"]["after"]
                        .update(vpc_security_group_ids="sg-1"), r"vpc_security_group_ids .*list of strings"),
    "subnet_ids a map": (lambda p: p["resource_changes"][_find(p, "aws_db_subnet_group")]["change"]["after"]
                         .update(subnet_ids={"a": "subnet-1"}), r"subnet_ids .*list of strings"),
    "egress a string": (lambda p: p["resource_changes"][_find(p, "aws_network_acl_rule")]["change"]["after"]
                        .update(egress="true"), r"change\.after\.egress .*true or false"),
    "unknown mode": (lambda p: p["resource_changes"][0].update(mode="ephemeral"), r"mode managed or data"),
    # found by the snapshot reader in the converted document, blamed on the plan's resource
    "ports reversed": (lambda p: p["resource_changes"][_find(p, "aws_security_group_rule")]["change"]["after"]
                       .update(from_port=3306, to_port=22),
                       r"plan\.json:resource_changes\[\d+\] \(aws_security_group_rule\.db_from_app\): "
                       r"expected FromPort <= ToPort"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fuzz_findings_are_located_input_errors(name: str) -> None:
    mutate, message = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(_edit(mutate)))
        with pytest.raises(InputError, match=message) as info:
            load_network(terraform=str(path))
        assert info.value.file == str(path)


def test_errors_in_the_snapshot_under_a_plan_name_the_snapshot() -> None:
    live = json.loads(LIVE.read_text())
    live["NetworkAcls"][0]["Entries"][0]["RuleNumber"] = "x"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "live.json"
        path.write_text(json.dumps(live))
        with pytest.raises(InputError) as info:
            load_network(terraform=str(EXAMPLES / "open-3306" / "plan.json"), snapshot=str(path))
        assert info.value.file == str(path) and (info.value.place or "").startswith("NetworkAcls[0]")
