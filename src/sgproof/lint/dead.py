"""sg-dead-rule: a rule that no allowed flow can use, proven with the whole encoding (NACLs, the other
side's groups, routing; an unknown route counts as a route, so no rule is called dead on a guess)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from ..errors import InternalError
from ..model import PORTED, Network, SgRule
from ..model.addr import format_interval
from ..semantics import Endpoint, Flow, evaluate
from ..semantics.evaluate import peer_blocks
from ..spec.parse import Spec
from .model import Finding
from .sg import _place, _rule_ev


def dead_rules(net: Network, ephemeral: tuple[int, int]) -> Iterator[Finding]:
    from ..encode.check import Checker

    index = _Index(net)
    checker = Checker(net, Spec("<lint>", "lint", None, ephemeral, {}, ()))
    groups = [sg for sg in sorted(net.sgs.values(), key=lambda g: g.id) if index.members.get(sg.id)]
    # every rule of a group on no ENI is unused: sg-unused / sg-reference-empty say so
    dead: set[int] = set()
    # a rule that a concrete flow uses is alive; one allowed flow shows alive every rule it uses (the
    # source's egress rules and the destination's ingress rules that match it), so most rules need no
    # search of their own; the solver decides only the rest, of every group at once
    alive: set[int] = set()
    for sg in groups:
        for r in (*sg.ingress, *sg.egress):
            if id(r) not in alive:
                flow = _used_by_example(net, index, r, ephemeral)
                if flow is not None:
                    alive.update(_uses(net, flow))
                    alive.add(id(r))
    for egress in (False, True):
        doubtful = [r for sg in groups for r in (sg.egress if egress else sg.ingress) if id(r) not in alive]
        # an address rule of a family that no member has an address of carries nothing (flows are of one
        # family): exact, and no solver needed
        lost = [r for r in doubtful if not _families_meet(net, index, r)]
        ask = [r for r in doubtful if not any(r is q for q in lost)]
        # rules whose peer names no ENI address look only at external addresses: asked apart from the rest,
        # their query holds no ENI-to-ENI routing, and the rest's holds only their own groups' members
        outside = [r for r in ask if _external_only(net, index, r)]
        for batch in (outside, [r for r in ask if not any(r is q for q in outside)]):
            proven, unknown = checker.rules_use_batch(batch)
            if unknown is not None:
                raise InternalError(f"lint: the solver could not decide whether some "
                                    f"{'egress' if egress else 'ingress'} rules are used ({unknown})")
            dead.update(id(r) for r in proven)
        dead.update(id(r) for r in lost)
    for sg in groups:
        for rule in (*sg.ingress, *sg.egress):
            if id(rule) not in dead:
                continue
            place, tf = _place(sg, rule)
            blocked = _blocked_example(net, index, rule, ephemeral)
            word = "egress" if rule.egress else "ingress"
            yield Finding("sg-dead-rule", "medium", sg.id, place,
                          f"{sg.id} ({sg.name}) {word} rule {rule.text()} carries no flow: every flow it would "
                          f"admit is blocked elsewhere ({blocked['why']})",
                          ({"proof": "unsat: no flow that every other gate admits matches this rule"},
                           _rule_ev(rule), blocked), tf)


def _external_only(net: Network, index: _Index, rule: SgRule) -> bool:
    """Whether the rule's peer names no ENI address (a group reference names ENIs)."""
    if rule.peer.kind == "sg":
        return False
    blocks = peer_blocks(net, rule.peer)
    return not any(index.in_block(f, lo, hi, 1, "", net) for f, lo, hi in blocks)


def _families_meet(net: Network, index: _Index, rule: SgRule) -> bool:
    """Whether some member of the rule's group has an address of a family the rule's peer can name."""
    if rule.peer.kind == "sg":
        return True
    peer_fams = {f for f, _, _ in peer_blocks(net, rule.peer)}
    return any(f in peer_fams for k in index.members.get(rule.sg_id, []) for f, _, _ in net.enis[k].private)


class _Index:
    """Members of every group, and ENI addresses sorted for block look-ups (built once per lint run)."""

    def __init__(self, net: Network):
        self.members: dict[str, list[int]] = {}
        self.ports: tuple[list[int], list[int]] | None = None  # client and NAT source port representatives
        self._blocks: dict[tuple[int, int, int, int, str], list[tuple[int, int]]] = {}
        rows: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        for k, e in enumerate(net.enis):
            if not e.hosts:
                continue
            for g in e.groups:
                self.members.setdefault(g, []).append(k)
            for f, a, b in e.private:
                rows[f].append((a, b, k))
        self.rows = {f: sorted(v) for f, v in rows.items()}
        self.starts = {f: [r[0] for r in v] for f, v in self.rows.items()}

    def in_block(self, family: int, lo: int, hi: int, limit: int, vpc: str, net: Network) -> list[tuple[int, int]]:
        """Up to `limit` (ENI, address) pairs with an address in [lo, hi], ENIs of `vpc` first (many rules
        name one block: each answer is kept)."""
        key = (family, lo, hi, limit, vpc)
        got = self._blocks.get(key)
        if got is None:
            got = self._blocks[key] = self._in_block(family, lo, hi, limit, vpc, net)
        return got

    def _in_block(self, family: int, lo: int, hi: int, limit: int, vpc: str, net: Network) -> list[tuple[int, int]]:
        rows = self.rows[family]
        # addresses are single or small prefixes: start a little before lo (a prefix may begin before it)
        k = max(0, bisect_left(self.starts[family], lo) - 64)
        found: list[tuple[int, int]] = []
        while k < len(rows) and rows[k][0] <= hi and len(found) < 8 * limit:
            a, b, e = rows[k]
            if b >= lo:
                found.append((e, max(a, lo)))
            k += 1
        found.sort(key=lambda t: (net.enis[t[0]].vpc_id != vpc, t[0]))
        out, seen = [], set()
        for e, a in found:
            if e not in seen:
                seen.add(e)
                out.append((e, a))
        return out[:limit]


def _candidates(net: Network, index: _Index, rule: SgRule, limit: int = 3) -> list[tuple[Endpoint, Endpoint]]:
    """A few (member, peer) endpoint pairs the rule matches: the ENIs that carry its group, and ENIs or
    external addresses its peer names (ENIs of the member's own VPC first)."""
    members = index.members.get(rule.sg_id, [])[:limit]
    out = []
    peer = rule.peer
    for own in members:
        vpc = net.enis[own].vpc_id
        others: list[Endpoint] = []
        if peer.kind == "sg":
            if peer.ref in net.unknown_groups:
                for f in (4, 6):
                    ivs = net.external.get(f, ())
                    if ivs:
                        others.append(Endpoint(None, f, ivs[-1][0] + 1 if ivs[-1][0] < ivs[-1][1] else ivs[-1][0]))
            else:
                ks = sorted((k for k in index.members.get(peer.ref, []) if k != own),
                            key=lambda k: (net.enis[k].vpc_id != vpc, k))[:limit]
                others += [Endpoint(k, f, a) for k in ks for f, a, _ in net.enis[k].private[:1]]
        else:
            for f, lo, hi in peer_blocks(net, peer):
                others += [Endpoint(k, f, a) for k, a in index.in_block(f, lo, hi, limit + 1, vpc, net) if k != own]
                for x, y in net.external.get(f, ()):
                    if x <= hi and y >= lo:
                        a = max(x, lo)
                        others.append(Endpoint(None, f, a + 1 if a < min(y, hi) else a))
                        break
        for o in others:
            for ff, a, _ in net.enis[own].private:
                if ff == o.family:
                    out.append((Endpoint(own, ff, a), o))
                    if o.eni is None and ff == 4 and not rule.egress:
                        out += [(Endpoint(own, 4, pub), o) for pub in net.enis[own].public[:1]]
                    break
    return out


def _uses(net: Network, flow: Flow) -> Iterator[int]:
    """The rules an allowed flow uses: the source ENI's egress rules and the destination ENI's ingress rules
    that match its service and its other end."""
    from ..semantics.evaluate import matches, peer_matches

    for own, other, egress in ((flow.src, flow.dst, True), (flow.dst, flow.src, False)):
        if own.eni is None:
            continue
        for gid in net.enis[own.eni].groups:
            sg = net.sgs[gid]
            for r in sg.egress if egress else sg.ingress:
                if matches(r.match, flow.proto, flow.value) and peer_matches(net, r, other):
                    yield id(r)


def _used_by_example(net: Network, index: _Index, rule: SgRule, ephemeral: tuple[int, int]) -> Flow | None:
    """An allowed flow the rule matches, among a few concrete candidates; None when none is found."""
    from ..semantics.evaluate import matches, peer_matches, port_representatives
    from ..semantics.routing import NAT_PORTS

    proto = rule.match.proto if rule.match.proto != -1 else 6
    values = [rule.match.lo] if proto in PORTED or proto in (1, 58) else [0]
    if proto in PORTED and rule.match.lo == 0:  # port 0 is what NACLs rarely open: a well-known port first
        known = [p for p in (443, 80, 22, 53) if p <= rule.match.hi]
        values = known[:1] + values
    if index.ports is None:  # once per run: they depend on the NACLs only
        index.ports = (port_representatives(net, *ephemeral)[:4], port_representatives(net, *NAT_PORTS)[:4])
    sports = index.ports[0] if proto in PORTED else [0]
    nports = index.ports[1] if proto in PORTED else [0]
    for me, other in _candidates(net, index, rule):
        src, dst = (me, other) if rule.egress else (other, me)
        for v in values:
            if not (matches(rule.match, proto, v) and peer_matches(net, rule, other)):
                continue
            flow = _some_ports_pass(net, src, dst, proto, v, sports, nports)
            if flow is not None:
                return flow
    return None


def _some_ports_pass(net: Network, src: Endpoint, dst: Endpoint, proto: int, value: int, sports: list[int],
                     nports: list[int]) -> Flow | None:
    """Whether a flow with one of the client ports (and NAT source ports) is allowed. The ports decide only
    the reply legs: once a flow is blocked on no reply leg, or on no NAT reply leg, other ports are not tried
    (a search for a witness: the solver decides whatever it misses)."""
    for sp in sports:
        for npt in nports:
            flow = Flow(src, dst, proto, value, sp, npt)
            got = evaluate(net, flow)
            if got.allowed:
                return flow
            gates = [st.gate for st in got.steps if st.verdict not in ("allow", "unknown")]
            if not any("reply" in g for g in gates):
                return None
            if "nacl-nat-reply-in" not in gates:
                break
    return None


def _blocked_example(net: Network, index: _Index, rule: SgRule, ephemeral: tuple[int, int]) -> dict[str, object]:
    """One flow the rule would admit, and the gates that block it (an illustration of the proof)."""
    own = index.members[rule.sg_id][0]
    peer = rule.peer
    other: Endpoint | None = None
    if peer.kind == "sg":
        j = next((k for k in index.members.get(peer.ref, []) if k != own), None)
        if j is not None:
            f, a, _ = net.enis[j].private[0]
            other = Endpoint(j, f, a)
    else:
        for f, lo, hi in peer_blocks(net, peer):
            hits = [(k, a) for k, a in index.in_block(f, lo, hi, 2, net.enis[own].vpc_id, net) if k != own]
            if hits:
                other = Endpoint(hits[0][0], f, hits[0][1])
                break
            ext = [(x, y) for x, y in net.external.get(f, ()) if x <= hi and y >= lo]
            if ext:
                other = Endpoint(None, f, max(ext[0][0], lo))
                break
    if other is None:
        return {"why": "no endpoint matches its peer " + peer.ref}
    f = other.family
    me = next((Endpoint(own, ff, a) for ff, a, _ in net.enis[own].private if ff == f), None)
    if me is None:
        return {"why": f"{net.enis[own].id} has no address of the peer's family"}
    src, dst = (me, other) if rule.egress else (other, me)
    proto = rule.match.proto if rule.match.proto != -1 else 6
    value = rule.match.lo if proto in (1, 58) else 0
    if proto in PORTED:
        value = rule.match.lo if rule.match.lo > 0 else min(443, rule.match.hi)
    flow = Flow(src, dst, proto, value, ephemeral[0] if proto in PORTED else 0, 1024 if proto in PORTED else 0)
    steps = evaluate(net, flow).steps
    blocking = [s for s in steps if s.verdict != "allow"]
    why = "; ".join(f"{s.gate} {s.id} {s.text or s.rule or ''}".strip() for s in blocking) or "blocked"
    return {"why": f"e.g. {flow.text()}: {why}", "flow": flow.text(),
            "blocked_by": [{"gate": s.gate, "id": s.id, "rule": s.rule, "verdict": s.verdict} for s in blocking],
            "peer": peer.ref if peer.kind != "cidr" else format_interval(peer.family, peer.lo, peer.hi)}
