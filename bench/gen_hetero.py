"""The heterogeneous benchmark profile: an account grown without discipline, whose ENIs rarely match.

Three VPCs of many small subnets, about 30 NACLs, one security group per five ENIs, each ENI
carrying 1-5 groups drawn at random from its team's groups, per-host /32 rules, secondary
addresses and delegated prefixes. Fixed "anchor" hosts with deterministic groups carry the
designed verdicts, so that they hold at every size and seed whatever the random groups do.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field
from typing import Any

from gen_routes import Routing, route
from gen_shapes import ANY4, ANY6, NaclEntries, perm, vpc_item

REGION = "us-east-1"
AZS = ("a", "b", "c")
MIN_ENIS = 200
OFFICE = "203.0.113.0/24"
PARTNER_API = "198.51.100.0/26"
PARTNER_GRE = "198.18.7.0/24"
EDGE_CLIENTS = "192.0.2.0/24"
INTERNET6 = "2606:4700::/32"
EPHEMERAL = (1024, 65535)


@dataclass(frozen=True)
class VpcSpec:
    """One VPC: name, share of the ENIs, the /14 its /16 blocks come from, its IPv6 /56."""

    name: str
    share: float
    region: str
    ipv6: str | None


VPCS = (
    # an IPAM allocation (AWS allows /44-/60 from a pool): Amazon's default /56 holds 256 /64 subnets,
    # fewer than this VPC has beyond 10,000 ENIs; a /52 holds 4,096
    VpcSpec("web", 0.6, "10.100.0.0/14", "2600:1f18:77:1000::/52"),
    VpcSpec("data", 0.25, "10.104.0.0/14", None),
    VpcSpec("ops", 0.15, "10.120.0.0/14", None),
)


@dataclass(frozen=True)
class Team:
    """A segment of a VPC: its own subnets in every AZ, its own NACL, its own pool of groups."""

    vpc: str
    tier: str  # public | app | db | attach: decides the route table
    role: str  # the Role tag of its hosts
    name: str
    weight: float  # share of the VPC's ENIs (0: fixed size)
    fixed: int = 0
    prefix: int = 26
    azs: tuple[str, ...] = AZS


TEAMS = (
    Team("web", "public", "edge", "web-edge", 0.05, prefix=25),
    Team("web", "public", "nat", "web-nat", 0, fixed=3, prefix=27),
    Team("web", "app", "front", "web-front-1", 0.12),
    Team("web", "app", "front", "web-front-2", 0.10),
    Team("web", "app", "api", "web-api-1", 0.10),
    Team("web", "app", "api", "web-api-2", 0.09),
    Team("web", "app", "api", "web-api-3", 0.08),
    Team("web", "app", "api", "web-api-4", 0.07),
    Team("web", "app", "reporting", "web-reporting", 0, azs=("a", "b")),  # anchors only
    Team("web", "app", "worker", "web-worker-1", 0.12, prefix=24),
    Team("web", "app", "worker", "web-worker-2", 0.08, prefix=24),
    Team("web", "app", "v6api", "web-v6api", 0.06),
    Team("web", "db", "db", "web-db-1", 0.04),
    Team("web", "db", "db", "web-db-2", 0.04),
    Team("web", "db", "db", "web-db-3", 0.03),
    Team("web", "db", "cache", "web-cache", 0.02),
    Team("web", "attach", "tgw", "web-tgw", 0, prefix=28),
    Team("data", "public", "nat", "data-nat", 0, fixed=3, prefix=27),
    Team("data", "app", "etl", "data-etl-1", 0.2),
    Team("data", "app", "etl", "data-etl-2", 0.15),
    Team("data", "app", "etl", "data-etl-3", 0.1),
    Team("data", "app", "stream", "data-stream-1", 0.15),
    Team("data", "app", "stream", "data-stream-2", 0.1),
    Team("data", "db", "warehouse", "data-warehouse-1", 0.12),
    Team("data", "db", "warehouse", "data-warehouse-2", 0.08),
    Team("data", "db", "lake", "data-lake", 0.1),
    Team("ops", "public", "bastion", "ops-bastion", 0, fixed=2, prefix=27, azs=("a", "b")),
    Team("ops", "public", "nat", "ops-nat", 0, fixed=3, prefix=27),
    Team("ops", "app", "tools", "ops-tools-1", 0.55),
    Team("ops", "app", "tools", "ops-tools-2", 0.45),
    Team("ops", "app", "ci", "ops-ci", 0, fixed=4, azs=("a", "b")),
    Team("ops", "attach", "tgw", "ops-tgw", 0, prefix=28),
)
# Fixed places at the top of each VPC's first block: attachment subnets, and ops CI, which the
# transit gateway blackholes (10.120.255.128/25).
RESERVED = {
    ("web-tgw", "a"): "10.100.255.0/28",
    ("web-tgw", "b"): "10.100.255.16/28",
    ("web-tgw", "c"): "10.100.255.32/28",
    ("ops-tgw", "a"): "10.120.255.0/28",
    ("ops-tgw", "b"): "10.120.255.16/28",
    ("ops-tgw", "c"): "10.120.255.32/28",
    ("ops-ci", "a"): "10.120.255.128/26",
    ("ops-ci", "b"): "10.120.255.192/26",
}
CI_BLACKHOLE = "10.120.255.128/25"


@dataclass
class Anchor:
    """A fixed host the designed verdicts rest on: its team, its groups (by key), its extras."""

    service: str
    team: str
    groups: list[str]
    count: int = 1
    public_ip: bool = False
    ipv6: bool = False


ANCHORS = (
    Anchor("api-open", "web-api-1", ["web-api-open"]),
    Anchor("api-locked", "web-api-2", ["web-api-locked"]),
    Anchor("reporting", "web-reporting", ["web-reporting"], count=2),
    Anchor("edge-anchor", "web-edge", ["web-edge-anchor"], count=2, public_ip=True, ipv6=True),
    Anchor("v6-anchor", "web-v6api", ["web-v6-anchor"], ipv6=True),
    Anchor("warehouse-anchor", "data-warehouse-1", ["data-warehouse-reporting"], count=2),
    Anchor("etl-anchor", "data-etl-1", ["data-etl-ingest"], count=2),
    Anchor("tools-anchor", "ops-tools-1", ["ops-tools-api"]),
    Anchor("ci-anchor", "ops-ci", ["ops-ci-runners"]),
)


@dataclass
class Subnet:
    """A small subnet being filled; single addresses from the bottom, /28 prefixes from the top."""

    subnet_id: str
    vpc: str
    team: Team
    az: str
    name: str
    cidr: ipaddress.IPv4Network
    ipv6: ipaddress.IPv6Network | None
    free: list[int]
    prefixes: list[int] = field(default_factory=list)
    used6: set[int] = field(default_factory=set)


@dataclass
class Vpc:
    """A VPC: id, claimed /16 blocks, the next free /28 unit of the last block, subnets by team."""

    spec: VpcSpec
    vpc_id: str
    blocks: list[ipaddress.IPv4Network] = field(default_factory=list)
    cursor: int = 0  # in /28 units inside the last block
    nsubnets6: int = 0
    subnets: dict[str, list[Subnet]] = field(default_factory=dict)


class HeteroBuilder:
    """Builds the heterogeneous snapshot; all randomness comes from one seeded generator."""

    def __init__(self, enis: int, seed: int, routing: bool = True) -> None:
        """Prepare an empty account for `enis` ENIs; `routing` adds route tables and gateways."""
        if enis < MIN_ENIS:
            raise ValueError(f"--enis must be at least {MIN_ENIS}")
        self.n = enis
        self.routing = routing
        self.rng = random.Random(seed * 7919 + 17)
        self.owner = str(self.rng.randrange(10**11, 10**12))
        self.ids: set[str] = set()
        self.vpcs: dict[str, Vpc] = {}
        self.sgs: dict[str, dict[str, Any]] = {}
        self.sg_vpc: dict[str, str] = {}
        self.pools: dict[str, list[str]] = {}
        self.hosts: dict[str, list[dict[str, Any]]] = {}  # role -> ENI records
        self.enis: list[dict[str, Any]] = []
        self.instances: list[dict[str, Any]] = []
        self.prefix_lists: list[dict[str, Any]] = []
        self.public_ips: set[int] = set()
        self.counter = 0
        self.pcx: dict[str, str] = {}

    # ---------------------------------------------------------------- ids and addresses
    def new_id(self, prefix: str, digits: int = 17) -> str:
        """A fresh, unique, well-formed resource id."""
        while True:
            candidate = f"{prefix}-{self.rng.getrandbits(4 * digits):0{digits}x}"
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate

    def timestamp(self) -> str:
        """A plausible creation time."""
        day = self.rng.randrange(0, 900)
        month, mday = divmod(day % 336, 28)
        return f"{2022 + day // 336}-{month + 1:02d}-{mday + 1:02d}T{self.rng.randrange(24):02d}:00:00+00:00"

    def public_ip(self) -> str:
        """An unused public IPv4 address from an AWS range."""
        pool = ipaddress.IPv4Network("3.208.0.0/12")
        while True:
            value = int(pool.network_address) + self.rng.randrange(1, pool.num_addresses - 1)
            if value not in self.public_ips:
                self.public_ips.add(value)
                return str(ipaddress.IPv4Address(value))

    def claim_block(self, vpc: Vpc) -> None:
        """Associate the next /16 of the VPC's /14."""
        blocks = list(ipaddress.IPv4Network(vpc.spec.region).subnets(new_prefix=16))
        if len(vpc.blocks) >= len(blocks):
            raise ValueError(f"VPC {vpc.spec.name} ran out of address space; use fewer ENIs")
        vpc.blocks.append(blocks[len(vpc.blocks)])
        vpc.cursor = 0

    def new_subnet(self, team: Team, az: str) -> Subnet:
        """Carve the team's next subnet in `az` (reserved places first, then the VPC's cursor)."""
        vpc = self.vpcs[team.vpc]
        existing = vpc.subnets.setdefault(team.name, [])
        fixed = RESERVED.get((team.name, az))
        if fixed and not any(s.az == az for s in existing):
            cidr = ipaddress.IPv4Network(fixed)
        else:
            units = 2 ** (28 - team.prefix)
            vpc.cursor = -(-vpc.cursor // units) * units  # align
            limit = 4096 - (
                16 if len(vpc.blocks) == 1 else 0
            )  # the first block's top /24 is reserved
            if vpc.cursor + units > limit:
                self.claim_block(vpc)
            base = int(vpc.blocks[-1].network_address) + vpc.cursor * 16
            vpc.cursor += units
            cidr = ipaddress.IPv4Network((base, team.prefix))
        ipv6 = None
        if vpc.spec.ipv6 and team.tier != "attach":
            net6 = ipaddress.IPv6Network(vpc.spec.ipv6)
            if vpc.nsubnets6 >= 1 << (64 - net6.prefixlen):
                raise SystemExit(f"the {team.vpc} VPC's IPv6 block {net6} has no /64 left for another subnet")
            ipv6 = ipaddress.IPv6Network((int(net6.network_address) + (vpc.nsubnets6 << 64), 64))
            vpc.nsubnets6 += 1
        size = cidr.num_addresses
        top = size // 2 if team.role == "worker" else size - 1
        free = list(range(4, top))
        self.rng.shuffle(free)
        prefixes = list(range(top, size - 16 + 1, 16)) if team.role == "worker" else []
        name = f"{team.name}-{az}-{len(existing) + 1}"
        subnet = Subnet(self.new_id("subnet"), team.vpc, team, az, name, cidr, ipv6, free, prefixes)
        existing.append(subnet)
        return subnet

    def subnet_for(self, team: Team, az: str, addresses: int, prefixes: int) -> Subnet:
        """The team's subnet in `az` with room, opening a new one when the last is full."""
        lst = [s for s in self.vpcs[team.vpc].subnets.get(team.name, []) if s.az == az]
        if lst and len(lst[-1].free) >= addresses and len(lst[-1].prefixes) >= prefixes:
            return lst[-1]
        return self.new_subnet(team, az)

    # ---------------------------------------------------------------- groups
    def sg(self, vpc: str, key: str, description: str, egress_all: bool = True) -> str:
        """Create a security group; `key` is its name."""
        group_id = self.new_id("sg")
        egress = []
        if egress_all:
            six = [ANY6] if self.vpcs[vpc].spec.ipv6 else []
            egress.append(perm("-1", cidrs=[ANY4], cidrs6=six))
        self.sgs[key] = {
            "Description": description,
            "GroupName": key,
            "IpPermissions": [],
            "OwnerId": self.owner,
            "GroupId": group_id,
            "IpPermissionsEgress": egress,
            "Tags": [{"Key": "Name", "Value": key}],
            "VpcId": self.vpcs[vpc].vpc_id,
        }
        self.sg_vpc[key] = vpc
        return group_id

    def pair(self, key: str, from_vpc: str) -> dict[str, Any]:
        """A UserIdGroupPairs item, with the peering when the group is in the other peered VPC."""
        entry: dict[str, Any] = {"GroupId": self.sgs[key]["GroupId"], "UserId": self.owner}
        if self.sg_vpc[key] != from_vpc:
            entry["VpcId"] = self.sgs[key]["VpcId"]
            entry["VpcPeeringConnectionId"] = self.pcx["web-data"]
            entry["PeeringStatus"] = "active"
        return entry

    def pool_groups(self, role: str, k: int) -> list[str]:
        """Up to k random groups of every team of a role."""
        keys = [g for t in TEAMS if t.role == role for g in self.pools.get(t.name, [])]
        return self.rng.sample(keys, min(k, len(keys)))

    def host32(self, role: str, k: int) -> list[str]:
        """Private /32s of up to k random hosts of a role (per-host rules)."""
        hosts = self.hosts.get(role, [])
        picked = self.rng.sample(hosts, min(k, len(hosts)))
        return [f"{h['PrivateIpAddress']}/32" for h in picked]

    # ---------------------------------------------------------------- plan and placement
    def counts(self) -> dict[str, int]:
        """Random hosts per team: what the fixed teams and anchors leave of the ENIs, split by VPC
        share (the last VPC takes the rounding) and team weight."""
        fixed = sum(t.fixed for t in TEAMS) + sum(a.count for a in ANCHORS)
        budget = self.n - fixed
        out: dict[str, int] = {}
        for spec in VPCS:
            teams = [t for t in TEAMS if t.vpc == spec.name and t.weight]
            last = spec is VPCS[-1]
            total = budget - sum(out.values()) if last else round(budget * spec.share)
            weight = sum(t.weight for t in teams)
            share = [int(total * t.weight / weight) for t in teams]
            share[0] += total - sum(share)
            out.update({t.name: c for t, c in zip(teams, share, strict=True)})
        return out

    def groups_for(self, team: Team) -> list[str]:
        """The 1-5 groups of a random host of the team: some of its pool, maybe its VPC's ssh group."""
        pool = self.pools[team.name]
        k = self.rng.randint(1, min(4, len(pool)))
        out = self.rng.sample(pool, k)
        if team.tier in ("app", "db") and self.rng.random() < 0.5:
            out.append(f"{team.vpc}-ssh")
        return out

    def place_host(
        self,
        team: Team,
        az: str,
        groups: list[str],
        service: str,
        *,
        public_ip: bool = False,
        ipv6: bool = False,
        nat: bool = False,
    ) -> dict[str, Any]:
        """One ENI (and its instance, unless it is a NAT gateway's) in the team's subnet of `az`."""
        worker = team.role == "worker"
        extra = self.rng.randint(2, 6) if worker else (1 if self.rng.random() < 0.2 else 0)
        if service != team.name or nat:  # anchors and NAT gateways: one address
            extra = 0
        wants_prefix = worker and service == team.name and self.rng.random() < 0.35
        subnet = self.subnet_for(team, az, 1 + extra, 1 if wants_prefix else 0)
        base = int(subnet.cidr.network_address)
        addresses = [str(ipaddress.IPv4Address(base + subnet.free.pop())) for _ in range(1 + extra)]
        public = self.public_ip() if public_ip or nat else None
        private: list[dict[str, Any]] = []
        for i, address in enumerate(addresses):
            item: dict[str, Any] = {
                "Primary": i == 0,
                "PrivateDnsName": f"ip-{address.replace('.', '-')}.ec2.internal",
                "PrivateIpAddress": address,
            }
            if i == 0 and public:
                item["Association"] = self.association(public, elastic=nat)
            elif i > 0 and public and self.rng.random() < 0.5:  # an Elastic IP on a secondary
                item["Association"] = self.association(self.public_ip(), elastic=True)
            private.append(item)
        six: list[dict[str, str]] = []
        prefixes6: list[dict[str, str]] = []
        if subnet.ipv6 and (
            ipv6 or (team.role == "v6api") or (not nat and self.rng.random() < 0.3)
        ):
            six.append({"Ipv6Address": self.ipv6_in(subnet)})
            if team.role == "v6api" and service == team.name and self.rng.random() < 0.3:
                index = self.rng.randint(1, 0xFFFF)
                start = int(subnet.ipv6.network_address) + (index << 48)
                prefixes6.append({"Ipv6Prefix": str(ipaddress.IPv6Network((start, 80)))})
        prefixes4 = []
        if wants_prefix:
            start = base + subnet.prefixes.pop()
            prefixes4.append({"Ipv4Prefix": str(ipaddress.IPv4Network((start, 28)))})
        self.counter += 1
        tags = [
            {"Key": "Name", "Value": f"{service}-{self.counter}"},
            {"Key": "Role", "Value": team.role},
            {"Key": "Team", "Value": team.name},
            {"Key": "Service", "Value": service},
        ]
        gids = [{"GroupId": self.sgs[g]["GroupId"], "GroupName": g} for g in groups]
        eni_id = self.new_id("eni")
        record: dict[str, Any] = {
            "AvailabilityZone": f"{REGION}{az}",
            "Description": "",
            "Groups": gids,
            "InterfaceType": "interface",
            "Ipv6Addresses": six,
            "MacAddress": ":".join(f"{self.rng.randrange(256):02x}" for _ in range(6)),
            "NetworkInterfaceId": eni_id,
            "OwnerId": self.owner,
            "PrivateDnsName": private[0]["PrivateDnsName"],
            "PrivateIpAddress": addresses[0],
            "PrivateIpAddresses": private,
            "Ipv4Prefixes": prefixes4,
            "Ipv6Prefixes": prefixes6,
            "RequesterManaged": False,
            "SourceDestCheck": True,
            "Status": "in-use",
            "SubnetId": subnet.subnet_id,
            "TagSet": [] if nat else tags[:3],
            "VpcId": self.vpcs[team.vpc].vpc_id,
        }
        if public:
            record["Association"] = dict(private[0]["Association"])
        attachment: dict[str, Any] = {
            "AttachTime": self.timestamp(),
            "AttachmentId": self.new_id("eni-attach"),
            "DeleteOnTermination": True,
            "DeviceIndex": 0,
            "NetworkCardIndex": 0,
            "Status": "attached",
        }
        if nat:
            record.update(
                Description=f"Interface for NAT Gateway {self.new_id('nat')}",
                InterfaceType="nat_gateway",
                RequesterId="AROAEXAMPLE:nat-gateway",
                RequesterManaged=True,
                SourceDestCheck=False,
            )
            attachment.update(
                AttachmentId=self.new_id("ela-attach"), DeviceIndex=1, InstanceOwnerId="amazon-aws"
            )
        else:
            instance_id = self.new_id("i")
            attachment.update(InstanceId=instance_id, InstanceOwnerId=self.owner)
            self.instances.append(
                {
                    "InstanceId": instance_id,
                    "ImageId": "ami-0c0ffee0c0ffee0c0",
                    "InstanceType": self.rng.choice(("t3.small", "m6i.large", "c7g.large")),
                    "LaunchTime": self.timestamp(),
                    "Placement": {"AvailabilityZone": f"{REGION}{az}", "Tenancy": "default"},
                    "State": {"Code": 16, "Name": "running"},
                    "SubnetId": subnet.subnet_id,
                    "VpcId": self.vpcs[team.vpc].vpc_id,
                    "PrivateIpAddress": addresses[0],
                    "SecurityGroups": gids,
                    "Tags": tags,
                    **({"PublicIpAddress": public} if public else {}),
                }
            )
        record["Attachment"] = attachment
        self.enis.append(record)
        self.hosts.setdefault(team.role, []).append(record)
        return record

    def association(self, public: str, elastic: bool) -> dict[str, str]:
        """The Association of a private address with a public one: AWS's own, or an Elastic IP."""
        out = {"IpOwnerId": self.owner if elastic else "amazon"}
        if elastic:
            out = {
                "AllocationId": self.new_id("eipalloc"),
                "AssociationId": self.new_id("eipassoc"),
                **out,
            }
        out["PublicDnsName"] = f"ec2-{public.replace('.', '-')}.compute-1.amazonaws.com"
        out["PublicIp"] = public
        return out

    def ipv6_in(self, subnet: Subnet) -> str:
        """An unused address of the subnet's /64, below the delegated /80s."""
        assert subnet.ipv6 is not None
        while True:
            host = self.rng.getrandbits(16) + 16
            if host not in subnet.used6:
                subnet.used6.add(host)
                return str(ipaddress.IPv6Address(int(subnet.ipv6.network_address) + host))

    # ---------------------------------------------------------------- the account
    def build(self) -> None:
        """VPCs, groups, hosts, then the rules (per-host rules need the hosts' addresses)."""
        for spec in VPCS:
            vpc = Vpc(spec, self.new_id("vpc"))
            self.vpcs[spec.name] = vpc
            self.claim_block(vpc)
        self.pcx = {"web-data": self.new_id("pcx"), "ops-data": self.new_id("pcx")}
        counts = self.counts()
        for team in TEAMS:
            if team.weight:
                size = max(6, round(counts[team.name] / 5))
                names = [f"{team.name}-{i + 1:03d}" for i in range(size)]
                for key in names:
                    self.sg(team.vpc, key, f"{team.role} hosts of {team.name}")
                self.pools[team.name] = names
            for az in team.azs:  # every team has a subnet in each of its AZs, hosts or not
                self.new_subnet(team, az)
        for spec in VPCS:
            self.sg(spec.name, f"{spec.name}-ssh", "SSH from the ops VPC", egress_all=False)
        self.sg("ops", "ops-bastion", "SSH jump hosts")
        self.sg("web", "web-edge-anchor", "main load balancer", egress_all=False)
        self.sg("web", "web-api-open", "legacy API, opened to the world during an incident")
        self.sg("web", "web-api-locked", "API for the ops tools only")
        self.sg("web", "web-reporting", "reporting jobs")
        self.sg("web", "web-v6-anchor", "IPv6 API canary")
        self.sg("data", "data-warehouse-reporting", "warehouse reached by reporting")
        self.sg("data", "data-etl-ingest", "ETL ingest from the ops tools")
        self.sg("ops", "ops-tools-api", "tools API")
        self.sg("ops", "ops-ci-runners", "CI runners")
        for team in TEAMS:
            if team.role == "nat":
                for az in team.azs:
                    self.place_host(team, az, [], team.name, nat=True)
            elif team.role == "bastion":
                for az in team.azs:
                    self.place_host(team, az, ["ops-bastion"], team.name, public_ip=True)
            elif team.role == "ci":
                for i in range(team.fixed):
                    self.place_host(team, team.azs[i % 2], ["ops-ci-runners", "ops-ssh"], team.name)
            for _ in range(counts.get(team.name, 0)):
                self.place_host(
                    team,
                    self.rng.choice(team.azs),
                    self.groups_for(team),
                    team.name,
                    public_ip=team.role == "edge",
                    ipv6=team.role == "edge",
                )
        teams = {t.name: t for t in TEAMS}
        for a in ANCHORS:
            team = teams[a.team]
            for i in range(a.count):
                self.place_host(
                    team,
                    team.azs[i % len(team.azs)],
                    a.groups,
                    a.service,
                    public_ip=a.public_ip,
                    ipv6=a.ipv6,
                )
        self.rules()

    def rules(self) -> None:
        """Every group's rules, drawn within its tier and role; the anchors' rules are fixed."""
        web, data, ops = (str(ipaddress.IPv4Network(s.region)) for s in VPCS)
        ing = self.ingress
        for spec in VPCS:
            ing(f"{spec.name}-ssh", perm("tcp", 22, 22, cidrs=[ops]))
        ing("ops-bastion", perm("tcp", 22, 22, cidrs=[OFFICE]))
        for port in (443, 80):
            ing("web-edge-anchor", perm("tcp", port, port, cidrs=[ANY4], cidrs6=[ANY6]))
        self.egress(
            "web-edge-anchor",
            perm(
                "tcp", 8080, 8080, pairs=[self.pair(g, "web") for g in self.pool_groups("front", 3)]
            ),
        )
        ing("web-api-open", perm("tcp", 8443, 8443, cidrs=[ANY4]))
        ing("web-api-locked", perm("tcp", 8443, 8443, cidrs=["10.120.0.0/16"]))
        ing("web-v6-anchor", perm("tcp", 443, 443, cidrs6=[ANY6]))
        ing(
            "data-warehouse-reporting",
            perm("tcp", 5432, 5432, pairs=[self.pair("web-reporting", "data")]),
        )
        ing("data-etl-ingest", perm("tcp", 8000, 8000, cidrs=[ops]))
        ing("ops-tools-api", perm("tcp", 443, 443, cidrs=[web]))
        ing("ops-tools-api", perm("tcp", 22, 22, cidrs=[data]))
        ing("ops-ci-runners", perm("tcp", 443, 443, cidrs=[web]))
        for team in TEAMS:
            for g in self.pools.get(team.name, []):
                self.pool_rules(team, g, web, data, ops)

    def ingress(self, key: str, rule: dict[str, Any]) -> None:
        """Append an ingress permission."""
        self.sgs[key]["IpPermissions"].append(rule)

    def egress(self, key: str, rule: dict[str, Any]) -> None:
        """Append an egress permission."""
        self.sgs[key]["IpPermissionsEgress"].append(rule)

    def pool_rules(self, team: Team, g: str, web: str, data: str, ops: str) -> None:
        """The rules of one random group: who calls its role, on its role's port."""
        r = self.rng
        vpc = team.vpc

        def refs(role: str, k: int) -> list[dict[str, Any]]:
            return [self.pair(x, vpc) for x in self.pool_groups(role, k)]

        if team.role == "edge":
            self.sgs[g]["IpPermissionsEgress"] = []
            for port in (443, 80):
                self.ingress(g, perm("tcp", port, port, cidrs=[ANY4], cidrs6=[ANY6]))
            self.egress(g, perm("tcp", 8080, 8080, pairs=refs("front", r.randint(1, 3))))
        elif team.role == "front":
            self.ingress(g, perm("tcp", 8080, 8080, pairs=refs("edge", r.randint(1, 2))))
            if r.random() < 0.5:
                self.ingress(g, perm("tcp", 8080, 8080, cidrs=self.host32("edge", r.randint(1, 2))))
        elif team.role == "api":
            callers = refs("front", r.randint(1, 3)) + refs("api", r.randint(0, 1))
            self.ingress(g, perm("tcp", 8443, 8443, pairs=callers))
            self.ingress(g, perm("tcp", 8443, 8443, cidrs=self.host32("front", r.randint(1, 3))))
        elif team.role == "worker":
            self.ingress(g, perm("-1", pairs=refs("worker", r.randint(1, 3))))
            if r.random() < 0.5:
                self.ingress(
                    g, perm("tcp", 9000, 9100, cidrs=self.host32("worker", r.randint(1, 2)))
                )
        elif team.role == "v6api":
            self.ingress(g, perm("tcp", 443, 443, cidrs6=[ANY6]))
            self.ingress(g, perm("tcp", 8443, 8443, pairs=refs("front", r.randint(1, 2))))
        elif team.role == "db":
            self.ingress(g, perm("tcp", 5432, 5432, pairs=refs("api", r.randint(1, 3))))
            self.ingress(g, perm("tcp", 5432, 5432, cidrs=self.host32("api", r.randint(1, 3))))
        elif team.role == "cache":
            self.ingress(g, perm("tcp", 6379, 6379, pairs=refs("api", r.randint(1, 3))))
        elif team.role == "etl":
            self.ingress(g, perm("tcp", 8000, 8000, pairs=refs("etl", r.randint(1, 2))))
            self.ingress(g, perm("tcp", 8000, 8000, cidrs=self.host32("stream", r.randint(1, 2))))
        elif team.role == "stream":
            callers = refs("etl", r.randint(1, 3)) + [
                self.pair(x, vpc) for x in self.pool_groups("api", r.randint(0, 2))
            ]
            self.ingress(g, perm("tcp", 9092, 9092, pairs=callers))
            self.ingress(g, perm("tcp", 9092, 9092, cidrs=self.host32("etl", r.randint(1, 2))))
        elif team.role == "warehouse":
            self.ingress(g, perm("tcp", 5432, 5432, pairs=refs("etl", r.randint(1, 3))))
            self.ingress(g, perm("tcp", 5432, 5432, cidrs=self.host32("etl", r.randint(1, 3))))
        elif team.role == "lake":
            self.ingress(g, perm("tcp", 443, 443, pairs=refs("etl", r.randint(1, 2))))
        elif team.role == "tools":
            self.ingress(g, perm("tcp", 443, 443, cidrs=[ops]))
            self.ingress(g, perm("tcp", 22, 22, pairs=[self.pair("ops-bastion", vpc)]))
            if r.random() < 0.4:
                self.ingress(
                    g, perm("tcp", 8080, 8080, cidrs=self.host32("tools", r.randint(1, 3)))
                )

    # ---------------------------------------------------------------- NACLs
    def nacls(self) -> list[dict[str, Any]]:
        """One NACL per team, and the default NACL of each VPC (associated with no subnet)."""
        out = []
        blocks = {name: [str(b) for b in v.blocks] for name, v in self.vpcs.items()}
        others = {"web": ["data", "ops"], "data": ["web", "ops"], "ops": ["web", "data"]}
        for team in TEAMS:
            vpc = self.vpcs[team.vpc]
            v6 = vpc.spec.ipv6
            acl = NaclEntries(v6 is not None)
            own = blocks[team.vpc]
            if team.tier == "attach":
                acl.both(100, "in", "allow", "-1")
                acl.both(100, "out", "allow", "-1")
            else:
                acl.blocks(100, "in", "allow", "-1", own, v6)
                peers = [b for o in others[team.vpc] for b in blocks[o]]
                acl.blocks(200, "in", "allow", "-1", peers, None)
                acl.add(300, "in", "deny", "6", ANY4, (3389, 3389))
                if team.role in ("edge", "v6api"):
                    acl.both(310, "in", "allow", "6", (443, 443))
                    acl.both(320, "in", "allow", "6", (80, 80))
                if team.role == "bastion":
                    acl.add(310, "in", "allow", "6", OFFICE, (22, 22))
                if team.role == "etl":
                    acl.add(310, "in", "allow", "47", PARTNER_GRE)
                acl.both(400, "in", "allow", "6", EPHEMERAL)
                acl.both(410, "in", "allow", "17", EPHEMERAL)
                acl.add(420, "in", "allow", "1", ANY4, icmp=(3, 4))
                acl.both(100, "out", "allow", "-1")
            acl_id = self.new_id("acl")
            out.append(
                {
                    "Associations": [
                        {
                            "NetworkAclAssociationId": self.new_id("aclassoc"),
                            "NetworkAclId": acl_id,
                            "SubnetId": s.subnet_id,
                        }
                        for s in vpc.subnets.get(team.name, [])
                    ],
                    "Entries": acl.finish(),
                    "IsDefault": False,
                    "NetworkAclId": acl_id,
                    "Tags": [{"Key": "Name", "Value": team.name}],
                    "VpcId": vpc.vpc_id,
                    "OwnerId": self.owner,
                }
            )
        for vpc in self.vpcs.values():
            default = NaclEntries(vpc.spec.ipv6 is not None)
            default.both(100, "in", "allow", "-1")
            default.both(100, "out", "allow", "-1")
            out.append(
                {
                    "Associations": [],
                    "Entries": default.finish(),
                    "IsDefault": True,
                    "NetworkAclId": self.new_id("acl"),
                    "Tags": [],
                    "VpcId": vpc.vpc_id,
                    "OwnerId": self.owner,
                }
            )
        return out

    # ---------------------------------------------------------------- routing
    def route_document(self) -> dict[str, Any]:
        """Public teams via an internet gateway, app teams via their AZ's NAT gateway (and IPv6 via
        an egress-only gateway in web), db teams without a default route (web db teams and the data
        lake on the main table); web and data peered with routes on both sides; ops and data peered
        but data's route to ops is a blackhole left by an older, deleted peering; web and ops joined by
        a transit gateway that blackholes ops CI; ops reaches data through a prefix-list route."""
        r = Routing(self.new_id, self.timestamp, self.owner, REGION)
        blocks = {name: [str(b) for b in v.blocks] for name, v in self.vpcs.items()}
        v6 = {name: [v.spec.ipv6] if v.spec.ipv6 else [] for name, v in self.vpcs.items()}
        vpc_id = {name: v.vpc_id for name, v in self.vpcs.items()}
        igw = {name: r.igw(vpc_id[name], f"{name}-igw") for name in self.vpcs}
        eigw = r.eigw(vpc_id["web"], "web-eigw")
        env_of = {v.vpc_id: name for name, v in self.vpcs.items()}
        nat = {}
        for eni in self.enis:
            if eni["InterfaceType"] == "nat_gateway":
                name, az = env_of[eni["VpcId"]], eni["AvailabilityZone"][-1]
                nat[(name, az)] = r.nat(eni, f"{name}-nat-{az}")
        tgw = r.transit_gateway(
            "hub",
            [
                (
                    name,
                    vpc_id[name],
                    [s.subnet_id for s in self.vpcs[name].subnets[f"{name}-tgw"]],
                    blocks[name],
                )
                for name in ("web", "ops")
            ],
            [CI_BLACKHOLE],
        )
        data_pl = self.prefix_lists[-1]["PrefixListId"]
        old_pcx = self.new_id("pcx")
        extra = {
            "web": [
                *(route(b, VpcPeeringConnectionId=self.pcx["web-data"]) for b in blocks["data"]),
                *(route(b, TransitGatewayId=tgw) for b in blocks["ops"]),
            ],
            "data": [
                *(route(b, VpcPeeringConnectionId=self.pcx["web-data"]) for b in blocks["web"]),
                route(
                    str(ipaddress.IPv4Network(VPCS[2].region)),
                    state="blackhole",
                    VpcPeeringConnectionId=old_pcx,
                ),
            ],
            "ops": [
                route(data_pl, VpcPeeringConnectionId=self.pcx["ops-data"]),
                *(route(b, TransitGatewayId=tgw) for b in blocks["web"]),
            ],
        }
        for name, vpc in self.vpcs.items():
            local = (blocks[name], v6[name])
            teams = [t for t in TEAMS if t.vpc == name]

            def subnets(tier: str, az: str | None = None, vpc: Vpc = vpc) -> list[str]:
                return [
                    s.subnet_id
                    for t in TEAMS
                    if t.vpc == vpc.spec.name and t.tier == tier
                    for s in vpc.subnets.get(t.name, [])
                    if az is None or s.az == az
                ]

            r.table(vpc.vpc_id, f"{name}-main", local, [], [], main=True)
            public = [route(ANY4, GatewayId=igw[name])]
            if v6[name]:
                public.append(route(ANY6, GatewayId=igw[name]))
            r.table(vpc.vpc_id, f"{name}-public", local, public + extra[name], subnets("public"))
            for az in AZS:
                private = [route(ANY4, NatGatewayId=nat[(name, az)])]
                if v6[name]:
                    private.append(route(ANY6, EgressOnlyInternetGatewayId=eigw))
                r.table(
                    vpc.vpc_id, f"{name}-app-{az}", local, private + extra[name], subnets("app", az)
                )
            if name in ("web", "ops"):
                r.table(vpc.vpc_id, f"{name}-attach", local, [], subnets("attach"))
            if name == "data":
                warehouse = [
                    s.subnet_id
                    for t in teams
                    if t.role == "warehouse"
                    for s in vpc.subnets.get(t.name, [])
                ]
                r.table(vpc.vpc_id, "data-warehouse", local, extra["data"], warehouse)
        return r.document()

    # ---------------------------------------------------------------- document
    def document(self) -> dict[str, Any]:
        """The snapshot document of contract section 2."""
        self.build()
        data = self.vpcs["data"]
        pl = self.new_id("pl")
        self.prefix_lists.append(
            {
                "PrefixListId": pl,
                "AddressFamily": "IPv4",
                "State": "create-complete",
                "PrefixListArn": f"arn:aws:ec2:{REGION}:{self.owner}:prefix-list/{pl}",
                "PrefixListName": "data-vpc-cidrs",
                "MaxEntries": 10,
                "Version": 1,
                "Tags": [{"Key": "Name", "Value": "data-vpc-cidrs"}],
                "OwnerId": self.owner,
                "Entries": [{"Cidr": str(b), "Description": "data VPC"} for b in data.blocks],
            }
        )
        nacls = self.nacls()
        subnets = [
            self.subnet_record(s)
            for v in self.vpcs.values()
            for lst in v.subnets.values()
            for s in lst
        ]
        vpcs = [self.vpc_record(v) for v in self.vpcs.values()]
        peerings = [
            self.peering(self.pcx["web-data"], "web", "data"),
            self.peering(self.pcx["ops-data"], "ops", "data"),
        ]
        reservations = [
            {
                "Groups": [],
                "Instances": self.instances[i : i + 10],
                "OwnerId": self.owner,
                "ReservationId": self.new_id("r"),
            }
            for i in range(0, len(self.instances), 10)
        ]
        doc: dict[str, Any] = {
            "AccountId": self.owner,
            "Region": REGION,
            "CollectedAt": "2024-06-01T00:00:00Z",
            "Vpcs": vpcs,
            "Subnets": subnets,
            "SecurityGroups": list(self.sgs.values()),
            "NetworkInterfaces": self.enis,
            "NetworkAcls": nacls,
            "ManagedPrefixLists": self.prefix_lists,
            "VpcPeeringConnections": peerings,
            "Reservations": reservations,
        }
        if self.routing:  # drawn last from the generator, so that the network is the same without
            doc.update(self.route_document())
        return doc

    def subnet_record(self, s: Subnet) -> dict[str, Any]:
        """A describe_subnets item."""
        used = s.cidr.num_addresses - 5 - len(s.free) - 16 * len(s.prefixes)
        record: dict[str, Any] = {
            "AvailabilityZone": f"{REGION}{s.az}",
            "AvailableIpAddressCount": max(0, s.cidr.num_addresses - 5 - used),
            "CidrBlock": str(s.cidr),
            "DefaultForAz": False,
            "MapPublicIpOnLaunch": s.team.tier == "public",
            "State": "available",
            "SubnetId": s.subnet_id,
            "VpcId": self.vpcs[s.vpc].vpc_id,
            "OwnerId": self.owner,
            "AssignIpv6AddressOnCreation": False,
            "Ipv6CidrBlockAssociationSet": [],
            "Tags": [
                {"Key": "Name", "Value": s.name},
                {"Key": "Tier", "Value": s.team.tier},
                {"Key": "Team", "Value": s.team.name},
            ],
        }
        if s.ipv6:
            record["Ipv6CidrBlockAssociationSet"] = [
                {
                    "AssociationId": self.new_id("subnet-cidr-assoc"),
                    "Ipv6CidrBlock": str(s.ipv6),
                    "Ipv6CidrBlockState": {"State": "associated"},
                }
            ]
        return record

    def vpc_record(self, vpc: Vpc) -> dict[str, Any]:
        """A describe_vpcs item."""
        return vpc_item(self.new_id, self.owner, vpc.vpc_id, vpc.blocks, vpc.spec.ipv6, [{"Key": "Name", "Value": vpc.spec.name}], REGION)

    def peering(self, pcx: str, requester: str, accepter: str) -> dict[str, Any]:
        """An active peering connection between two VPCs of the account."""

        def info(name: str) -> dict[str, Any]:
            vpc = self.vpcs[name]
            out: dict[str, Any] = {
                "CidrBlock": str(vpc.blocks[0]),
                "CidrBlockSet": [{"CidrBlock": str(b)} for b in vpc.blocks],
                "OwnerId": self.owner,
                "PeeringOptions": {"AllowDnsResolutionFromRemoteVpc": False},
                "VpcId": vpc.vpc_id,
                "Region": REGION,
            }
            if vpc.spec.ipv6:
                out["Ipv6CidrBlockSet"] = [{"Ipv6CidrBlock": vpc.spec.ipv6}]
            return out

        return {
            "AccepterVpcInfo": info(accepter),
            "RequesterVpcInfo": info(requester),
            "Status": {"Code": "active", "Message": "Active"},
            "Tags": [{"Key": "Name", "Value": f"{requester}-{accepter}"}],
            "VpcPeeringConnectionId": pcx,
        }


# -------------------------------------------------------------------- the spec
PROVEN, REFUTED = "proven", "refuted"


def svc(name: str) -> dict[str, Any]:
    """The hosts of one anchor service."""
    return {"tag": {"Service": name}}


def role(name: str, vpc: str | None = None) -> dict[str, Any]:
    """The hosts of one role (any team), optionally in one VPC."""
    sel: dict[str, Any] = {"tag": {"Role": name}}
    if vpc:
        sel["vpc"] = vpc
    return sel


INTERNET = {"internet": True}
ANY_SG = {"security_group": "*"}

# (id, unrouted verdict, routed verdict, invariant body, why): the verdicts hold at every size and
# seed because they rest on the anchors and on what no random rule ever opens.
DESIGN: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("internet-to-private-api", REFUTED, PROVEN,
     {"deny": {"from": INTERNET, "to": role("api", "web"), "ports": "all"}},
     "api-open admits 0.0.0.0/0 on 8443 (the app NACL's ephemeral rule admits 8443 too); routed, "
     "the api hosts have no public address and an internet gateway carries nothing to a private one"),
    ("web-db-no-internet-egress", REFUTED, PROVEN,
     {"deny": {"from": role("db", "web"), "to": INTERNET, "ports": "all"}},
     "db groups keep the default egress-all; routed, web db subnets use the main table: local only"),
    ("etl-reaches-partner-api", PROVEN, PROVEN,
     {"reach": {"from": svc("etl-anchor"), "to": {"cidr": PARTNER_API}, "ports": "tcp/443"}},
     "egress all, replies on ephemeral ports admitted; routed, only through the AZ's NAT gateway, whose "
     "subnet admits the VPC in, the replies on 1024-65535, and routes to the internet gateway"),
    ("etl-no-gre-to-partner", REFUTED, PROVEN,
     {"deny": {"from": role("etl"), "to": {"cidr": PARTNER_GRE}, "ports": "proto/47"}},
     "etl NACLs admit GRE back from the partner's tunnel range; routed, the only route out is the "
     "NAT gateway, which carries tcp, udp and icmp only"),
    ("v6-tier-no-internet-inbound", REFUTED, PROVEN,
     {"deny": {"from": {"all_of": [INTERNET, {"cidr": "::/0"}]}, "to": role("v6api"), "ports": "all"}},
     "every v6api group admits ::/0 on 443; routed, ::/0 goes to the egress-only gateway, which admits "
     "no inbound connection, and the tier has no public IPv4"),
    ("v6-reaches-internet6", PROVEN, PROVEN,
     {"reach": {"from": svc("v6-anchor"), "to": {"cidr": INTERNET6}, "ports": "tcp/443"}},
     "egress all; routed, ::/0 -> egress-only gateway carries it out"),
    ("reporting-reaches-warehouse", PROVEN, PROVEN,
     {"reach": {"from": svc("reporting"), "to": svc("warehouse-anchor"), "ports": "tcp/5432"}},
     "the warehouse group admits the reporting group across the web-data peering; routed, both "
     "sides route the other's blocks to the peering"),
    ("ops-tools-reaches-etl", PROVEN, REFUTED,
     {"reach": {"from": svc("tools-anchor"), "to": svc("etl-anchor"), "ports": "tcp/8000"}},
     "etl-ingest admits the ops VPC; routed, ops routes data (a prefix-list route) to the ops-data "
     "peering, but data's route back to ops is a blackhole left by an older, deleted peering"),
    ("reporting-reaches-ops-tools", PROVEN, PROVEN,
     {"reach": {"from": svc("reporting"), "to": svc("tools-anchor"), "ports": "tcp/443"}},
     "tools-api admits the web VPC; routed, both VPCs route each other to the transit gateway, whose "
     "table propagates both, with an attachment subnet in every AZ"),
    ("reporting-to-ci-blackholed", PROVEN, REFUTED,
     {"reach": {"from": svc("reporting"), "to": svc("ci-anchor"), "ports": "tcp/443"}},
     "ci-runners admits the web VPC; routed, the transit gateway's static blackhole "
     f"{CI_BLACKHOLE} is longer than the propagated ops block"),
    ("internet-reaches-edge", PROVEN, PROVEN,
     {"reach": {"from": {"cidr": EDGE_CLIENTS}, "to": svc("edge-anchor"), "ports": "tcp/443"}},
     "the edge anchor admits the world on 443 and has a public IPv4; the public table sends 0.0.0.0/0 "
     "to the internet gateway"),
    ("no-internet-ssh-but-bastion", PROVEN, PROVEN,
     {"deny": {"from": INTERNET, "to": {"all_of": [ANY_SG, {"not": role("bastion")}]}, "ports": "tcp/22"}},
     "SSH is admitted only from the office (bastion) and from private ranges of the account"),
    ("web-db-only-from-api", PROVEN, PROVEN,
     {"only": {"from": role("api"), "to": role("db", "web"), "ports": "tcp/5432"}},
     "db groups admit 5432 only from api groups and /32s of api hosts"),
    ("api-only-from-front", REFUTED, REFUTED,
     {"only": {"from": role("front"), "to": role("api", "web"), "ports": "tcp/8443"}},
     "api groups also admit other api groups, and api-open admits 0.0.0.0/0, workers included"),
    ("any-front-reaches-any-api", REFUTED, REFUTED,
     {"reach": {"from": role("front"), "to": role("api"), "ports": "tcp/8443"}},
     "api-locked admits only the ops VPC"),
    ("data-cannot-open-ops", REFUTED, PROVEN,
     {"deny": {"from": {"vpc": "data"}, "to": {"vpc": "ops"}, "ports": "tcp/22"}},
     "tools-api admits SSH from the data VPC; routed, data's route to ops is a blackhole"),
    ("warehouse-no-internet", REFUTED, PROVEN,
     {"deny": {"from": role("warehouse"), "to": INTERNET, "ports": "all"}},
     "warehouse groups keep egress-all; routed, the warehouse table has no default route"),
    ("stream-only-from-etl-and-api", PROVEN, PROVEN,
     {"only": {"from": {"any_of": [role("etl"), role("api")]}, "to": role("stream"), "ports": "tcp/9092"}},
     "stream groups admit 9092 only from etl and api groups and /32s of etl hosts"),
    ("edge-reaches-no-db", PROVEN, PROVEN,
     {"deny": {"from": role("edge"), "to": {"any_of": [role("db"), role("warehouse")]}, "ports": "all"}},
     "edge groups send only tcp/8080, and only to front groups"),
    ("internet-only-web-ports", REFUTED, REFUTED,
     {"deny": {"from": INTERNET, "to": ANY_SG, "ports": "all", "except_ports": ["tcp/80", "tcp/443"]}},
     "the office reaches the ops bastions on 22 at their public addresses (and, unrouted, api-open "
     "takes 8443 from anywhere)"),
]  # fmt: skip


def spec_document() -> dict[str, Any]:
    """The heterogeneous benchmark spec (contract section 3)."""
    invariants = []
    for ident, unrouted, routed, body, why in DESIGN:
        verdicts = unrouted if unrouted == routed else f"{unrouted} unrouted, {routed} routed"
        invariants.append({"id": ident, "description": f"{verdicts}: {why}", **body})
    return {
        "sgproof": 1,
        "name": "sgproof benchmark: an account grown without discipline",
        "source": "network.json",
        "settings": {"ephemeral_ports": "1024-65535"},
        # named for the report's flow map (the invariants spell their selectors out)
        "groups": {
            "internet": INTERNET,
            "front": role("front"),
            "web-api": role("api", "web"),
            "web-db": role("db", "web"),
            "etl": role("etl"),
        },
        "invariants": invariants,
    }


def expected_verdicts(routing: bool = True) -> dict[str, str]:
    """The verdict each invariant has by construction at every size, with or without routing."""
    return {ident: routed if routing else unrouted for ident, unrouted, routed, _, _ in DESIGN}
