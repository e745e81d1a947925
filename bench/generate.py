"""Seeded generator of large, realistic AWS network snapshots plus a 20-invariant benchmark spec.

Two profiles: `friendly` (this file; services share group sets, few ENI classes) and
`heterogeneous` (gen_hetero.py; nearly every ENI its own class). Routing (gen_routes.py) is on
unless `--routing off`, which makes the same network without route tables and gateways.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_routes import Routing, route
from gen_shapes import ANY4, ANY6, NaclEntries, perm, vpc_item

GENERATOR_VERSION = 2
REGION = "us-east-1"
AZS = ("a", "b", "c")
SUBNET_PREFIX = {"public": 24, "app": 20, "db": 22}
OFFICE = "203.0.113.0/24"
CORP_VPN = ("192.0.2.0/25", "192.0.2.128/26")
CORP_VPN_NACL = "192.0.2.0/24"
CORP_VPN_V6 = "2001:db8:1000::/40"
PARTNERS = ("198.51.100.0/26", "198.18.7.0/24")
ABUSERS = "198.51.100.128/25"
S3_CIDRS = ("3.5.0.0/19", "16.182.0.0/16", "52.216.0.0/15", "54.231.0.0/16")
FOREIGN_ACCOUNT = "210987654321"
EPHEMERAL = (1024, 65535)
WORDS = (
    "orders", "catalog", "search", "payments", "inventory", "auth", "profile", "ledger",
    "notify", "media", "pricing", "reco", "fraud", "shipping", "cart", "reviews", "ads",
    "events", "quotes", "tax", "loyalty", "invoice", "geo", "chat", "feeds", "report",
)  # fmt: skip
MIN_ENIS = 200


@dataclass(frozen=True)
class EnvSpec:
    """One VPC of the generated account: its name, share of the ENIs and address plan."""

    name: str
    share: float
    region: str  # a /12 from which /16 VPC blocks are claimed
    first_block: int
    ipv6: str | None  # the VPC's Amazon-provided /56


ENVS = (
    EnvSpec("prod", 0.55, "10.0.0.0/12", 0, "2600:1f18:4a3:6b00::/56"),
    EnvSpec("shared", 0.15, "10.16.0.0/12", 0, "2600:1f18:4a3:9c00::/56"),
    EnvSpec("staging", 0.22, "10.32.0.0/12", 0, None),
    EnvSpec("legacy", 0.08, "172.16.0.0/12", 4, None),
)


@dataclass
class Subnet:
    """A subnet being filled with ENIs; addresses are handed out in a shuffled order like DHCP."""

    subnet_id: str
    env: str
    tier: str
    az: str
    name: str
    cidr: ipaddress.IPv4Network
    ipv6: ipaddress.IPv6Network | None
    free: list[int]
    used6: set[int] = field(default_factory=set)


@dataclass
class Vpc:
    """A VPC with its CIDR blocks, per-tier blocks and subnets."""

    spec: EnvSpec
    vpc_id: str
    blocks: list[ipaddress.IPv4Network] = field(default_factory=list)
    tier_blocks: dict[str, list[ipaddress.IPv4Network]] = field(default_factory=dict)
    cursor: dict[str, int] = field(
        default_factory=dict
    )  # next subnet index in the tier's last block
    subnets: dict[tuple[str, str], list[Subnet]] = field(default_factory=dict)
    nsubnets6: int = 0


@dataclass
class Service:
    """A group of ENIs launched alike (an auto-scaling group, an ALB, an RDS instance): same SGs."""

    stack: str
    env: str
    role: str
    tier: str
    count: int  # ENIs
    kind: str  # ec2 | alb | rds | nat
    sgs: list[str]
    secondaries: tuple[int, int] = (0, 0)
    ipv6: bool = False
    public_ip: bool = False
    eni_tags: bool = False
    enis_per_instance: int = 1
    azs: tuple[str, ...] = AZS


class Builder:
    """Builds one snapshot document; all randomness comes from one seeded generator."""

    def __init__(self, enis: int, seed: int, routing: bool = True) -> None:
        """Prepare an empty account for `enis` ENIs; `routing` adds route tables and gateways."""
        self.routing = routing
        if enis < MIN_ENIS:
            raise ValueError(f"--enis must be at least {MIN_ENIS}")
        self.n = enis
        self.rng = random.Random(seed)
        self.owner = str(self.rng.randrange(10**11, 10**12))
        self.ids: set[str] = set()
        self.vpcs: dict[str, Vpc] = {}
        self.sgs: dict[str, dict[str, Any]] = {}
        self.sg_env: dict[str, str] = {}
        self.prefix_lists: dict[str, dict[str, Any]] = {}
        self.services: list[Service] = []
        self.enis: list[dict[str, Any]] = []
        self.reservations: list[dict[str, Any]] = []
        self.public_ips: set[int] = set()
        self.public_pool = ipaddress.IPv4Network("44.192.0.0/11")
        self.mac_counter = 0
        self.stack_counter: dict[str, int] = {}
        self.pcx_id = ""

    # ---------------------------------------------------------------- ids
    def new_id(self, prefix: str, digits: int = 17) -> str:
        """Return a fresh, unique, well-formed resource id such as `sg-0123456789abcdef0`."""
        while True:
            candidate = f"{prefix}-{self.rng.getrandbits(4 * digits):0{digits}x}"
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate

    def timestamp(self) -> str:
        """Return a plausible creation time in 2023-2024."""
        day = self.rng.randrange(0, 600)
        month, mday = divmod(day % 336, 28)
        return f"{2023 + day // 336}-{month + 1:02d}-{mday + 1:02d}T{self.rng.randrange(24):02d}:{self.rng.randrange(60):02d}:00+00:00"

    def public_ip(self) -> str:
        """Return an unused public IPv4 address from an AWS-owned range."""
        while True:
            value = int(self.public_pool.network_address) + self.rng.randrange(
                1, self.public_pool.num_addresses - 1
            )
            if value not in self.public_ips:
                self.public_ips.add(value)
                return str(ipaddress.IPv4Address(value))

    # ---------------------------------------------------------------- address plan
    def claim_block(self, vpc: Vpc) -> ipaddress.IPv4Network:
        """Associate the next /16 of the VPC's region with the VPC."""
        region = ipaddress.IPv4Network(vpc.spec.region)
        index = vpc.spec.first_block + len(vpc.blocks)
        blocks = list(region.subnets(new_prefix=16))
        if index >= len(blocks):
            raise ValueError(f"VPC {vpc.spec.name} ran out of address space; use fewer ENIs")
        block = blocks[index]
        vpc.blocks.append(block)
        return block

    def new_subnet(self, vpc: Vpc, tier: str, az: str) -> Subnet:
        """Carve the next subnet of a tier out of the tier's blocks, claiming a new block when full."""
        prefix = SUBNET_PREFIX[tier]
        per_block = 2 ** (prefix - 16)
        blocks = vpc.tier_blocks.setdefault(tier, [])
        if not blocks or vpc.cursor[tier] >= per_block:
            blocks.append(self.claim_block(vpc))
            vpc.cursor[tier] = 0
        base = int(blocks[-1].network_address) + vpc.cursor[tier] * 2 ** (32 - prefix)
        vpc.cursor[tier] += 1
        cidr = ipaddress.IPv4Network((base, prefix))
        ipv6 = None
        if vpc.spec.ipv6:
            net6 = ipaddress.IPv6Network(vpc.spec.ipv6)
            ipv6 = ipaddress.IPv6Network((int(net6.network_address) + (vpc.nsubnets6 << 64), 64))
            vpc.nsubnets6 += 1
        offsets = list(range(4, cidr.num_addresses - 1))  # AWS reserves the first four and the last
        self.rng.shuffle(offsets)
        existing = vpc.subnets.setdefault((tier, az), [])
        name = f"{vpc.spec.name}-{tier}-{az}-{len(existing) + 1}"
        subnet = Subnet(self.new_id("subnet"), vpc.spec.name, tier, az, name, cidr, ipv6, offsets)
        existing.append(subnet)
        return subnet

    def subnet_for(self, env: str, tier: str, az: str, needed: int) -> Subnet:
        """Return the subnet of (env, tier, az) being filled, opening a new one when it is full."""
        vpc = self.vpcs[env]
        current = vpc.subnets[(tier, az)][-1]
        if len(current.free) < needed:
            current = self.new_subnet(vpc, tier, az)
        return current

    # ---------------------------------------------------------------- security groups
    def sg(self, env: str, name: str, description: str, *, egress_all: bool = True) -> str:
        """Create a security group in the env's VPC and return its id."""
        group_id = self.new_id("sg")
        vpc = self.vpcs[env]
        egress: list[dict[str, Any]] = []
        if egress_all:
            egress.append(perm("-1", cidrs=[ANY4], cidrs6=[ANY6] if vpc.spec.ipv6 else []))
        tags = (
            []
            if name == "default"
            else [{"Key": "Name", "Value": name}, {"Key": "Env", "Value": env}]
        )
        key = name if name != "default" else f"{env}/default"
        self.sgs[key] = {
            "Description": description,
            "GroupName": name,
            "IpPermissions": [],
            "OwnerId": self.owner,
            "GroupId": group_id,
            "IpPermissionsEgress": egress,
            "Tags": tags,
            "VpcId": vpc.vpc_id,
        }
        self.sg_env[key] = env
        return group_id

    def ingress(self, sg: str, rule: dict[str, Any]) -> None:
        """Append an ingress permission to a group."""
        self.sgs[sg]["IpPermissions"].append(rule)

    def egress(self, sg: str, rule: dict[str, Any]) -> None:
        """Append an egress permission to a group."""
        self.sgs[sg]["IpPermissionsEgress"].append(rule)

    def pair(self, sg: str, from_env: str) -> dict[str, Any]:
        """A UserIdGroupPairs entry naming `sg`, with peering details when it lives in another VPC."""
        target = self.sgs[sg]
        entry: dict[str, Any] = {"GroupId": target["GroupId"], "UserId": self.owner}
        if self.sg_env[sg] != from_env:
            entry["VpcId"] = target["VpcId"]
            entry["VpcPeeringConnectionId"] = self.pcx_id
            entry["PeeringStatus"] = "active"
        return entry

    # ---------------------------------------------------------------- prefix lists
    def prefix_list(
        self, name: str, family: str, cidrs: tuple[str, ...], *, aws: bool = False
    ) -> str:
        """Create a managed prefix list with its entries and return its id."""
        pl_id = self.new_id("pl", 8) if aws else self.new_id("pl")
        owner = "AWS" if aws else self.owner
        self.prefix_lists[name] = {
            "PrefixListId": pl_id,
            "AddressFamily": family,
            "State": "create-complete",
            "PrefixListArn": f"arn:aws:ec2:{REGION}:{'aws' if aws else self.owner}:prefix-list/{pl_id}",
            "PrefixListName": name,
            "MaxEntries": None if aws else max(10, len(cidrs)),
            "Version": 1 if aws else self.rng.randrange(1, 9),
            "Tags": [] if aws else [{"Key": "Name", "Value": name}],
            "OwnerId": owner,
            "Entries": [{"Cidr": c, "Description": "" if aws else f"{name} range"} for c in cidrs],
        }
        return pl_id

    # ---------------------------------------------------------------- the account
    def build_vpcs(self) -> None:
        """Create the four VPCs, the first subnet of every tier and AZ, and the prod-shared peering."""
        for spec in ENVS:
            vpc = Vpc(spec, self.new_id("vpc"))
            self.vpcs[spec.name] = vpc
            for tier in ("public", "app", "db"):
                for az in AZS:
                    self.new_subnet(vpc, tier, az)
        self.pcx_id = self.new_id("pcx")

    def env_security_groups(self) -> None:
        """Create the per-VPC shared groups: default, bastion, ssh, logging, node-exporter, monitoring."""
        corp = self.prefix_list("corp-vpn", "IPv4", CORP_VPN)
        corp6 = self.prefix_list("corp-vpn-v6", "IPv6", (CORP_VPN_V6,))
        self.prefix_list("partners", "IPv4", PARTNERS)
        self.prefix_list(f"com.amazonaws.{REGION}.s3", "IPv4", S3_CIDRS, aws=True)
        for spec in ENVS:
            env = spec.name
            self.sg(env, "default", "default VPC security group")
            self.ingress(
                f"{env}/default",
                perm(
                    "-1",
                    pairs=[
                        {"GroupId": self.sgs[f"{env}/default"]["GroupId"], "UserId": self.owner}
                    ],
                ),
            )
            self.sg(env, f"{env}-bastion", "SSH jump hosts")
            self.ingress(f"{env}-bastion", perm("tcp", 22, 22, cidrs=[OFFICE], pls=[corp]))
            if spec.ipv6:
                self.ingress(f"{env}-bastion", perm("tcp", 22, 22, pls=[corp6]))
            self.sg(env, f"{env}-ssh", "SSH and ping from the bastion", egress_all=False)
            bastion = self.pair(f"{env}-bastion", env)
            self.ingress(f"{env}-ssh", perm("tcp", 22, 22, pairs=[bastion]))
            self.ingress(f"{env}-ssh", perm("icmp", 8, -1, pairs=[dict(bastion)]))
            self.sg(
                env, f"{env}-logging", "log shipping to the collector over TLS", egress_all=False
            )
            self.egress(f"{env}-logging", perm("tcp", 443, 443, cidrs=[ANY4]))
        self.sg("shared", "shared-prometheus", "Prometheus servers")
        self.sg("shared", "shared-dns", "internal DNS resolvers")
        for proto in ("udp", "tcp"):
            self.ingress("shared-dns", perm(proto, 53, 53, cidrs=["10.0.0.0/8"]))
        for env in ("prod", "shared"):
            self.sg(env, f"{env}-node-exporter", "metrics scraped by Prometheus", egress_all=False)
            self.ingress(
                f"{env}-node-exporter",
                perm("tcp", 9100, 9100, pairs=[self.pair("shared-prometheus", env)]),
            )

    def helpers(self, env: str, extra_logging: bool) -> list[str]:
        """The shared groups an EC2 host of `env` carries beside its service group."""
        out = [f"{env}-ssh"]
        if env in ("prod", "shared") and self.rng.random() < 0.8:
            out.append(f"{env}-node-exporter")
        if extra_logging:
            out.append(f"{env}-logging")
        return out

    def stack_name(self, env: str, word: str | None = None) -> str:
        """Return a fresh stack name such as `prod-orders-3`."""
        word = word or self.rng.choice(WORDS)
        key = f"{env}-{word}"
        self.stack_counter[key] = self.stack_counter.get(key, 0) + 1
        return f"{key}-{self.stack_counter[key]}"

    def db_service(
        self, env: str, stack: str, app_sg: str, engine: str | None = None, rds: bool | None = None
    ) -> Service:
        """A MySQL or PostgreSQL tier reachable only from its own app tier."""
        engine = engine or self.rng.choice(("mysql", "postgres"))
        port = 3306 if engine == "mysql" else 5432
        name = f"{stack}-{engine}"
        self.sg(env, name, f"{engine} for {stack}", egress_all=False)
        self.ingress(name, perm("tcp", port, port, pairs=[self.pair(app_sg, env)]))
        self.egress(
            name,
            perm(
                "tcp",
                443,
                443,
                pls=[self.prefix_lists[f"com.amazonaws.{REGION}.s3"]["PrefixListId"]],
            ),
        )
        rds = self.rng.random() < 0.6 if rds is None else rds
        if rds:
            return Service(stack, env, "db", "db", 2, "rds", [name], azs=("a", "b"))
        return Service(
            stack,
            env,
            "db",
            "db",
            self.rng.randint(2, 4),
            "ec2",
            [name, *self.helpers(env, False)],
            eni_tags=self.rng.random() < 0.4,
        )

    def web_stack(
        self,
        env: str,
        stack: str,
        web: int,
        app: int,
        *,
        engine: str | None = None,
        rds: bool | None = None,
    ) -> list[Service]:
        """An internet-facing stack: ALB -> web -> app -> database, each tier admitting only the one before."""
        v6 = self.vpcs[env].spec.ipv6 is not None
        alb, web_sg, app_sg = f"{stack}-alb", f"{stack}-web", f"{stack}-app"
        self.sg(env, alb, f"load balancer of {stack}", egress_all=False)
        self.sg(env, web_sg, f"web servers of {stack}")
        self.sg(env, app_sg, f"application servers of {stack}")
        for port in (443, 80):
            self.ingress(alb, perm("tcp", port, port, cidrs=[ANY4], cidrs6=[ANY6] if v6 else []))
        self.egress(alb, perm("tcp", 8080, 8080, pairs=[self.pair(web_sg, env)]))
        self.ingress(web_sg, perm("tcp", 8080, 8080, pairs=[self.pair(alb, env)]))
        self.ingress(app_sg, perm("tcp", 8443, 8443, pairs=[self.pair(web_sg, env)]))
        logging = self.rng.random() < 0.5
        six = v6 and self.rng.random() < 0.5
        tagged = self.rng.random() < 0.4
        return [
            Service(stack, env, "lb", "public", 3, "alb", [alb], ipv6=v6, public_ip=True),
            Service(
                stack,
                env,
                "web",
                "app",
                web,
                "ec2",
                [web_sg, *self.helpers(env, logging)],
                ipv6=six,
                eni_tags=tagged,
            ),
            Service(
                stack,
                env,
                "app",
                "app",
                app,
                "ec2",
                [app_sg, *self.helpers(env, logging)],
                (0, 1) if self.rng.random() < 0.2 else (0, 0),
                ipv6=six,
                eni_tags=tagged,
            ),
            self.db_service(env, stack, app_sg, engine, rds),
        ]

    def internal_stack(self, env: str, stack: str, app: int) -> list[Service]:
        """An internal service called by the app tiers of earlier stacks of the same VPC."""
        app_sg = f"{stack}-app"
        self.sg(env, app_sg, f"internal API {stack}")
        callers = [
            k for k, e in self.sg_env.items() if e == env and k.endswith("-app") and k != app_sg
        ]
        for caller in self.rng.sample(callers, min(len(callers), self.rng.randint(1, 3))):
            self.ingress(app_sg, perm("tcp", 8443, 8443, pairs=[self.pair(caller, env)]))
        if self.rng.random() < 0.3:
            self.sg(env, f"{stack}-cache-client", f"clients of the {stack} cache", egress_all=False)
            self.egress(
                f"{stack}-cache-client", perm("tcp", 6379, 6379, cidrs=[self.vpcs[env].spec.region])
            )
            cache = [f"{stack}-cache-client"]
        else:
            cache = []
        v6 = self.vpcs[env].spec.ipv6 is not None and self.rng.random() < 0.3
        services = [
            Service(
                stack,
                env,
                "app",
                "app",
                app,
                "ec2",
                [app_sg, *self.helpers(env, self.rng.random() < 0.5), *cache],
                ipv6=v6,
                eni_tags=self.rng.random() < 0.4,
            )
        ]
        if self.rng.random() < 0.6:
            services.append(self.db_service(env, stack, app_sg))
        return services

    def worker_stack(self, env: str, stack: str, hosts: int) -> list[Service]:
        """Container hosts with two ENIs each and secondary addresses for pods; nothing calls them."""
        sg = f"{stack}-worker"
        self.sg(env, sg, f"container hosts of {stack}")
        self.ingress(sg, perm("-1", pairs=[self.pair(sg, env)]))
        return [
            Service(
                stack,
                env,
                "worker",
                "app",
                2 * hosts,
                "ec2",
                [sg, *self.helpers(env, True)],
                (2, 6),
                enis_per_instance=2,
            )
        ]

    def legacy_stack(self, stack: str, count: int) -> list[Service]:
        """An old service in the legacy VPC that still leans on the default group."""
        sg = f"{stack}-svc"
        self.sg("legacy", sg, f"legacy service {stack}")
        self.ingress(sg, perm("tcp", 8080, 8080, cidrs=["172.20.0.0/14"]))
        groups = [sg, "legacy/default"] + (["legacy-ssh"] if self.rng.random() < 0.5 else [])
        return [Service(stack, "legacy", "app", "app", count, "ec2", groups)]

    def tools_stack(self, env: str, count: int) -> list[Service]:
        """A filler service that takes whatever ENIs are left in the env's budget."""
        stack = self.stack_name(env, "tools")
        sg = f"{stack}-svc"
        self.sg(env, sg, f"tooling hosts {stack}")
        self.ingress(sg, perm("tcp", 443, 443, cidrs=[self.vpcs[env].spec.region]))
        if env == "legacy":
            return [Service(stack, env, "tools", "app", count, "ec2", [sg, "legacy/default"])]
        return [Service(stack, env, "tools", "app", count, "ec2", [sg, *self.helpers(env, False)])]

    def fixed_services(self, env: str) -> list[Service]:
        """NAT gateways, the bastion and the planted services every size contains."""
        v6 = self.vpcs[env].spec.ipv6 is not None
        out = [
            Service(f"{env}-nat", env, "nat", "public", 3, "nat", [], public_ip=True),
            Service(
                f"{env}-bastion",
                env,
                "bastion",
                "public",
                1,
                "ec2",
                [f"{env}-bastion"],
                ipv6=v6,
                public_ip=True,
                eni_tags=True,
                azs=("a",),
            ),
        ]
        if env == "prod":
            out += self.web_stack(env, "prod-checkout", 6, 8, engine="mysql", rds=True)
            self.sg(env, "prod-v6-test", "temporary IPv6 test host")
            self.ingress("prod-v6-test", perm("tcp", 0, 65535, cidrs6=[ANY6]))
            out.append(
                Service(
                    "prod-v6-test",
                    env,
                    "test",
                    "public",
                    1,
                    "ec2",
                    ["prod-v6-test"],
                    ipv6=True,
                    azs=("b",),
                )
            )
        elif env == "shared":
            out.append(
                Service(
                    "shared-prometheus",
                    env,
                    "monitoring",
                    "app",
                    2,
                    "ec2",
                    ["shared-prometheus", "shared-ssh", "shared-node-exporter"],
                    azs=("a", "b"),
                )
            )
            out.append(
                Service(
                    "shared-dns",
                    env,
                    "dns",
                    "app",
                    2,
                    "ec2",
                    ["shared-dns", "shared-ssh", "shared-node-exporter"],
                    azs=("a", "b"),
                )
            )
        elif env == "staging":
            out += self.web_stack(env, "staging-billing", 4, 4, engine="mysql", rds=False)
            self.ingress(
                "staging-billing-mysql", perm("tcp", 3306, 3306, cidrs=["10.0.0.0/8"])
            )  # the planted mistake
            self.sg(env, "staging-debug-open", "debugging, remove me")
            self.ingress("staging-debug-open", perm("tcp", 0, 65535, cidrs=[ANY4]))
            out.append(
                Service(
                    "staging-debug",
                    env,
                    "debug",
                    "public",
                    1,
                    "ec2",
                    ["staging-debug-open"],
                    public_ip=True,
                    azs=("c",),
                )
            )
        else:
            out += self.legacy_stack("legacy-erp", 4)
            self.sg(env, "legacy-erp-oracle", "Oracle for the ERP")
            self.ingress(
                "legacy-erp-oracle",
                perm("tcp", 1521, 1521, pairs=[self.pair("legacy-erp-svc", env)]),
            )
            out.append(
                Service(
                    "legacy-erp",
                    env,
                    "db",
                    "db",
                    2,
                    "ec2",
                    ["legacy-erp-oracle", "legacy/default"],
                    azs=("a", "b"),
                )
            )
            self.sg(env, "legacy-partner-api", "partner API")
            self.ingress(
                "legacy-partner-api",
                perm(
                    "tcp",
                    8443,
                    8443,
                    pairs=[{"GroupId": self.new_id("sg"), "UserId": FOREIGN_ACCOUNT}],
                ),
            )
            self.ingress(
                "legacy-partner-api",
                perm("tcp", 443, 443, pls=[self.prefix_lists["partners"]["PrefixListId"]]),
            )
            out.append(
                Service(
                    "legacy-partner-api",
                    env,
                    "api",
                    "app",
                    2,
                    "ec2",
                    ["legacy-partner-api", "legacy/default"],
                    azs=("a", "b"),
                )
            )
        return out

    def plan(self) -> None:
        """Decide every service of every VPC so that the ENIs add up to exactly the requested count."""
        budgets = [round(self.n * spec.share) for spec in ENVS]
        budgets[0] += self.n - sum(budgets)
        for spec, budget in zip(ENVS, budgets, strict=True):
            env = spec.name
            services = self.fixed_services(env)
            left = budget - sum(s.count for s in services)
            while left > 0:
                if left < 40:
                    services += self.tools_stack(env, left)
                    left = 0
                    break
                if env == "legacy":
                    new = self.legacy_stack(self.stack_name(env), self.rng.randint(3, 24))
                else:
                    roll = self.rng.random()
                    if roll < 0.4:
                        new = self.web_stack(
                            env,
                            self.stack_name(env),
                            self.rng.randint(3, 18),
                            self.rng.randint(4, 30),
                        )
                    elif roll < 0.75:
                        new = self.internal_stack(
                            env, self.stack_name(env), self.rng.randint(4, 30)
                        )
                    else:
                        new = self.worker_stack(env, self.stack_name(env), self.rng.randint(3, 12))
                services += new
                left -= sum(s.count for s in new)
            if left < 0:  # shrink the last stack's scalable tiers to land on the budget exactly
                for service in reversed(services):
                    if (
                        service.kind == "ec2"
                        and service.enis_per_instance == 1
                        and service.count > 1
                    ):
                        cut = min(-left, service.count - 1)
                        service.count -= cut
                        left += cut
                        if left == 0:
                            break
            if left != 0:
                raise ValueError(f"cannot fit the {env} VPC into {budget} ENIs")
            self.services += services
        for spec in ENVS:  # groups nobody uses any more, as every real account has
            for _ in range(max(1, self.n // (100 * len(ENVS)))):
                name = f"{spec.name}-old-{self.rng.choice(WORDS)}-{len(self.sgs)}"
                self.sg(spec.name, name, "unused")
                self.ingress(name, perm("tcp", 22, 22, cidrs=[ANY4]))

    # ---------------------------------------------------------------- ENIs and instances
    def mac(self) -> str:
        """Return a unique locally administered MAC address."""
        self.mac_counter += 1
        value = (self.mac_counter * 0x9E3779B1) % (1 << 40)
        raw = f"0e{value:010x}"
        return ":".join(raw[i : i + 2] for i in range(0, 12, 2))

    def ipv6_in(self, subnet: Subnet) -> str:
        """Return an unused IPv6 address of the subnet's /64."""
        assert subnet.ipv6 is not None
        while True:
            host = self.rng.getrandbits(64)
            if host > 3 and host not in subnet.used6:
                subnet.used6.add(host)
                return str(ipaddress.IPv6Address(int(subnet.ipv6.network_address) + host))

    def place(self) -> None:
        """Create every service's ENIs (and instances) in its tier's subnets, spread over its AZs."""
        for service in self.services:
            groups = [
                {"GroupId": self.sgs[g]["GroupId"], "GroupName": self.sgs[g]["GroupName"]}
                for g in service.sgs
            ]
            instances: list[dict[str, Any]] = []
            instance: dict[str, Any] | None = None
            for index in range(service.count):
                az = (
                    service.azs[index % len(service.azs)]
                    if service.enis_per_instance == 1
                    else service.azs[(index // 2) % len(service.azs)]
                )
                device = index % service.enis_per_instance
                if service.kind == "ec2" and device == 0:
                    instance = self.instance(
                        service, index // service.enis_per_instance, az, groups
                    )
                    instances.append(instance)
                self.enis.append(
                    self.eni(
                        service, az, device, groups, instance if service.kind == "ec2" else None
                    )
                )
            for start in range(0, len(instances), 8):
                self.reservations.append(
                    {
                        "Groups": [],
                        "Instances": instances[start : start + 8],
                        "OwnerId": self.owner,
                        "ReservationId": self.new_id("r"),
                    }
                )

    def tags(self, service: Service, index: int) -> list[dict[str, str]]:
        """Tags as a team would put them on an instance of the service."""
        return [
            {"Key": "Name", "Value": f"{service.stack}-{service.role}-{index + 1}"},
            {"Key": "Role", "Value": service.role},
            {"Key": "Env", "Value": service.env},
            {"Key": "Service", "Value": service.stack},
        ]

    def instance(
        self, service: Service, index: int, az: str, groups: list[dict[str, str]]
    ) -> dict[str, Any]:
        """An EC2 instance record; its addresses are filled in when its primary ENI is placed."""
        tags = self.tags(service, index)
        if service.count > 2:
            tags.append(
                {"Key": "aws:autoscaling:groupName", "Value": f"{service.stack}-{service.role}-asg"}
            )
        return {
            "InstanceId": self.new_id("i"),
            "ImageId": self.new_id("ami"),
            "InstanceType": self.rng.choice(
                ("m6i.large", "m6i.xlarge", "c6i.large", "r6i.large", "t3.medium")
            ),
            "LaunchTime": self.timestamp(),
            "Placement": {"AvailabilityZone": f"{REGION}{az}", "Tenancy": "default"},
            "State": {"Code": 16, "Name": "running"},
            "VpcId": self.vpcs[service.env].vpc_id,
            "SecurityGroups": groups,
            "Tags": tags,
        }

    def eni(
        self,
        service: Service,
        az: str,
        device: int,
        groups: list[dict[str, str]],
        instance: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """One network interface as describe_network_interfaces returns it."""
        extra = self.rng.randint(*service.secondaries)
        subnet = self.subnet_for(service.env, service.tier, az, 1 + extra)
        base = int(subnet.cidr.network_address)
        addresses = [str(ipaddress.IPv4Address(base + subnet.free.pop())) for _ in range(1 + extra)]
        eni_id = self.new_id("eni")
        public = self.public_ip() if service.public_ip and device == 0 else None
        private = []
        for i, address in enumerate(addresses):
            item: dict[str, Any] = {
                "Primary": i == 0,
                "PrivateDnsName": f"ip-{address.replace('.', '-')}.ec2.internal",
                "PrivateIpAddress": address,
            }
            if i == 0 and public:
                item["Association"] = {
                    "IpOwnerId": "amazon",
                    "PublicDnsName": f"ec2-{public.replace('.', '-')}.compute-1.amazonaws.com",
                    "PublicIp": public,
                }
            private.append(item)
        record: dict[str, Any] = {
            "AvailabilityZone": f"{REGION}{az}",
            "Description": "",
            "Groups": groups,
            "InterfaceType": "interface",
            "Ipv6Addresses": [{"Ipv6Address": self.ipv6_in(subnet)}]
            if service.ipv6 and subnet.ipv6
            else [],
            "MacAddress": self.mac(),
            "NetworkInterfaceId": eni_id,
            "OwnerId": self.owner,
            "PrivateDnsName": private[0]["PrivateDnsName"],
            "PrivateIpAddress": addresses[0],
            "PrivateIpAddresses": private,
            "RequesterManaged": False,
            "SourceDestCheck": True,
            "Status": "in-use",
            "SubnetId": subnet.subnet_id,
            "TagSet": [],
            "VpcId": self.vpcs[service.env].vpc_id,
        }
        if public:
            record["Association"] = dict(private[0]["Association"])
        attachment: dict[str, Any] = {
            "AttachTime": self.timestamp(),
            "AttachmentId": self.new_id("eni-attach"),
            "DeleteOnTermination": service.kind != "rds",
            "DeviceIndex": device,
            "NetworkCardIndex": 0,
            "Status": "attached",
        }
        if instance is not None:
            attachment["InstanceId"] = instance["InstanceId"]
            attachment["InstanceOwnerId"] = self.owner
            if device == 0:
                instance.update(
                    SubnetId=subnet.subnet_id,
                    PrivateIpAddress=addresses[0],
                    PrivateDnsName=private[0]["PrivateDnsName"],
                )
                if public:
                    instance["PublicIpAddress"] = public
            if service.eni_tags:
                record["TagSet"] = [
                    t for t in instance["Tags"] if t["Key"] in ("Name", "Role", "Env")
                ]
        elif service.kind == "alb":
            record.update(
                Description=f"ELB app/{service.stack}-alb/{self.rng.getrandbits(64):016x}",
                RequesterId="amazon-elb",
                RequesterManaged=True,
            )
            attachment.update(DeviceIndex=1, InstanceOwnerId="amazon-elb")
        elif service.kind == "rds":
            record.update(
                Description="RDSNetworkInterface", RequesterId="amazon-rds", RequesterManaged=True
            )
            attachment.update(DeviceIndex=1, InstanceOwnerId="amazon-rds")
        elif service.kind == "nat":
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
        record["Attachment"] = attachment
        return record

    # ---------------------------------------------------------------- NACLs
    def nacls(self) -> list[dict[str, Any]]:
        """A custom NACL per tier and a default NACL per VPC; the legacy public tier kept the default."""
        out = []
        for env, vpc in self.vpcs.items():
            v6 = vpc.spec.ipv6
            peer = {"prod": "shared", "shared": "prod"}.get(env)
            monitor = self.vpcs["shared"].tier_blocks["app"] if env in ("prod", "shared") else []
            tiers = {t: [str(b) for b in vpc.tier_blocks[t]] for t in ("public", "app", "db")}
            own = [str(b) for b in vpc.blocks]
            peer_blocks = [str(b) for b in self.vpcs[peer].blocks] if peer else []
            peer6 = self.vpcs[peer].spec.ipv6 if peer else None
            acls: dict[str, NaclEntries] = {}

            pub = NaclEntries(v6 is not None)
            pub.add(80, "in", "deny", "-1", ABUSERS)
            pub.both(100, "in", "allow", "6", (443, 443))
            pub.both(110, "in", "allow", "6", (80, 80))
            pub.add(120, "in", "allow", "6", OFFICE, (22, 22))
            pub.add(125, "in", "allow", "6", CORP_VPN_NACL, (22, 22))
            pub.both(130, "in", "allow", "6", EPHEMERAL)
            pub.blocks(140, "in", "allow", "-1", own, v6)
            pub.both(160, "in", "allow", "17", EPHEMERAL)
            pub.add(170, "in", "allow", "1", ANY4, icmp=(3, 4))
            pub.both(100, "out", "allow", "-1")
            acls["public"] = pub

            app = NaclEntries(v6 is not None)
            app.blocks(80, "in", "allow", "6", tiers["public"], None, (22, 22))
            app.both(100, "in", "deny", "6", (22, 22))
            app.blocks(120, "in", "allow", "-1", own, v6)
            app.blocks(140, "in", "allow", "-1", peer_blocks, peer6)
            app.add(160, "in", "deny", "6", ANY4, (3389, 3389))
            app.both(200, "in", "allow", "6", EPHEMERAL)
            app.both(210, "in", "allow", "17", EPHEMERAL)
            app.both(100, "out", "allow", "-1")
            acls["app"] = app

            db = NaclEntries(v6 is not None)
            for base, port in ((100, 3306), (120, 5432), (140, 1521)):
                db.blocks(base, "in", "allow", "6", tiers["app"], None, (port, port))
            db.blocks(160, "in", "allow", "6", tiers["public"], None, (22, 22))
            db.blocks(180, "in", "allow", "6", [str(b) for b in monitor], None, (9100, 9100))
            db.blocks(200, "in", "allow", "6", tiers["db"], None, (3306, 3306))
            db.blocks(220, "in", "allow", "6", tiers["db"], None, (5432, 5432))
            for base, port in ((300, 3306), (310, 5432), (320, 1521), (330, 22)):
                db.both(base, "in", "deny", "6", (port, port))
            db.both(400, "in", "allow", "6", EPHEMERAL)
            db.blocks(100, "out", "allow", "6", tiers["app"], None, EPHEMERAL)
            db.blocks(120, "out", "allow", "6", tiers["public"], None, EPHEMERAL)
            db.blocks(140, "out", "allow", "6", [str(b) for b in monitor], None, EPHEMERAL)
            db.blocks(160, "out", "allow", "6", tiers["db"], None, (3306, 3306))
            db.blocks(180, "out", "allow", "6", tiers["db"], None, (5432, 5432))
            db.blocks(200, "out", "allow", "6", tiers["db"], None, EPHEMERAL)
            db.both(300, "out", "allow", "6", (443, 443))
            db.both(310, "out", "allow", "6", (80, 80))
            acls["db"] = db

            default = NaclEntries(v6 is not None)
            default.both(100, "in", "allow", "-1")
            default.both(100, "out", "allow", "-1")
            default_id = self.new_id("acl")
            default_assoc: list[dict[str, Any]] = []
            for tier in ("public", "app", "db"):
                subnets = [s for (t, _), lst in vpc.subnets.items() if t == tier for s in lst]
                if env == "legacy" and tier == "public":
                    default_assoc += [self.assoc(default_id, s) for s in subnets]
                    continue
                acl_id = self.new_id("acl")
                out.append(
                    self.nacl(
                        acl_id,
                        vpc,
                        False,
                        [self.assoc(acl_id, s) for s in subnets],
                        acls[tier],
                        f"{env}-{tier}",
                    )
                )
            out.append(self.nacl(default_id, vpc, True, default_assoc, default, None))
        return out

    def assoc(self, acl_id: str, subnet: Subnet) -> dict[str, str]:
        """A NACL association record."""
        return {
            "NetworkAclAssociationId": self.new_id("aclassoc"),
            "NetworkAclId": acl_id,
            "SubnetId": subnet.subnet_id,
        }

    def nacl(
        self,
        acl_id: str,
        vpc: Vpc,
        default: bool,
        assoc: list[dict[str, str]],
        entries: NaclEntries,
        name: str | None,
    ) -> dict[str, Any]:
        """A NACL record with the final `*` entries AWS always returns."""
        return {
            "Associations": assoc,
            "Entries": entries.finish(),
            "IsDefault": default,
            "NetworkAclId": acl_id,
            "Tags": [{"Key": "Name", "Value": name}] if name else [],
            "VpcId": vpc.vpc_id,
            "OwnerId": self.owner,
        }

    # ---------------------------------------------------------------- document
    def document(self) -> dict[str, Any]:
        """Assemble the snapshot document of contract section 2."""
        self.build_vpcs()
        self.env_security_groups()
        self.plan()
        self.place()
        nacls = self.nacls()
        subnets = []
        vpcs = []
        for env, vpc in self.vpcs.items():
            for (tier, _), lst in vpc.subnets.items():
                for s in lst:
                    subnets.append(self.subnet_record(vpc, s, tier))
            vpcs.append(self.vpc_record(env, vpc))
        prod, shared, staging = self.vpcs["prod"], self.vpcs["shared"], self.vpcs["staging"]
        self.pcx_staging = self.new_id("pcx")
        peerings = [
            {
                "AccepterVpcInfo": self.peer_info(shared),
                "RequesterVpcInfo": self.peer_info(prod),
                "Status": {"Code": "active", "Message": "Active"},
                "Tags": [{"Key": "Name", "Value": "prod-shared"}],
                "VpcPeeringConnectionId": self.pcx_id,
            },
            {
                "AccepterVpcInfo": self.peer_info(shared),
                "RequesterVpcInfo": self.peer_info(staging),
                "Status": {"Code": "active", "Message": "Active"},
                "Tags": [{"Key": "Name", "Value": "staging-shared"}],
                "VpcPeeringConnectionId": self.pcx_staging,
            },
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
            "ManagedPrefixLists": list(self.prefix_lists.values()),
            "VpcPeeringConnections": peerings,
            "Reservations": self.reservations,
        }
        if self.routing:  # drawn last from the generator, so that the network is the same without
            doc.update(self.route_document())
        return doc

    def route_document(self) -> dict[str, Any]:
        """Route tables: public tiers via an internet gateway, app tiers via their AZ's NAT gateway,
        db tiers without a default route; prod and shared peered with routes on both sides, staging
        and shared peered with the route back to staging missing; staging and legacy joined by a
        transit gateway; an S3 gateway endpoint in prod; a blackhole route in legacy."""
        r = Routing(self.new_id, self.timestamp, self.owner, REGION)
        blocks = {env: [str(b) for b in vpc.blocks] for env, vpc in self.vpcs.items()}
        v6 = {env: [vpc.spec.ipv6] if vpc.spec.ipv6 else [] for env, vpc in self.vpcs.items()}
        igw = {env: r.igw(vpc.vpc_id, f"{env}-igw") for env, vpc in self.vpcs.items()}
        eigw = {env: r.eigw(vpc.vpc_id, f"{env}-eigw") for env, vpc in self.vpcs.items() if v6[env]}
        nat: dict[tuple[str, str], str] = {}
        env_of = {vpc.vpc_id: env for env, vpc in self.vpcs.items()}
        for eni in self.enis:
            if eni["InterfaceType"] == "nat_gateway":
                env, az = env_of[eni["VpcId"]], eni["AvailabilityZone"][-1]
                nat[(env, az)] = r.nat(eni, f"{env}-nat-{az}")
        s3 = self.prefix_lists[f"com.amazonaws.{REGION}.s3"]["PrefixListId"]
        vpce = r.gateway_endpoint(self.vpcs["prod"].vpc_id, f"com.amazonaws.{REGION}.s3", "prod-s3")
        attach = {
            env: [self.vpcs[env].subnets[("app", az)][0].subnet_id for az in AZS]
            for env in ("staging", "legacy")
        }
        tgw = r.transit_gateway(
            "core-tgw",
            [
                (env, self.vpcs[env].vpc_id, attach[env], blocks[env])
                for env in ("staging", "legacy")
            ],
            ["172.31.0.0/16"],  # a decommissioned VPC
        )

        def via(peer: str, **target: str) -> list[dict[str, Any]]:
            return [route(b, **target) for b in blocks[peer] + v6[peer]]

        def via4(peer: str, **target: str) -> list[dict[str, Any]]:
            return [route(b, **target) for b in blocks[peer]]

        peer_routes: dict[str, list[dict[str, Any]]] = {
            "prod": via("shared", VpcPeeringConnectionId=self.pcx_id),
            "shared": via("prod", VpcPeeringConnectionId=self.pcx_id),  # and none back to staging
            "staging": via4("shared", VpcPeeringConnectionId=self.pcx_staging)
            + via4("legacy", TransitGatewayId=tgw),
            "legacy": [
                *via4("staging", TransitGatewayId=tgw),
                route(
                    "10.200.0.0/16", state="blackhole", VpcPeeringConnectionId=self.new_id("pcx")
                ),
            ],
        }
        for env, vpc in self.vpcs.items():
            local = (blocks[env], v6[env])
            subnets = {
                (tier, az): [s.subnet_id for s in vpc.subnets[(tier, az)]]
                for tier in ("public", "app", "db")
                for az in AZS
            }
            r.table(vpc.vpc_id, f"{env}-main", local, [], [], main=True)
            public = [route(ANY4, GatewayId=igw[env])]
            if v6[env]:
                public.append(route(ANY6, GatewayId=igw[env]))
            r.table(
                vpc.vpc_id,
                f"{env}-public",
                local,
                public + peer_routes[env],
                [x for az in AZS for x in subnets[("public", az)]],
            )
            for az in AZS:
                private = [route(ANY4, NatGatewayId=nat[(env, az)])]
                if v6[env]:
                    private.append(route(ANY6, EgressOnlyInternetGatewayId=eigw[env]))
                if env == "prod":
                    private.append(route(s3, GatewayId=vpce))
                r.table(
                    vpc.vpc_id,
                    f"{env}-app-{az}",
                    local,
                    private + peer_routes[env],
                    subnets[("app", az)],
                )
            if env in ("prod", "staging"):  # shared and legacy db subnets use the main table
                r.table(
                    vpc.vpc_id,
                    f"{env}-db",
                    local,
                    peer_routes[env] if env == "prod" else [],
                    [x for az in AZS for x in subnets[("db", az)]],
                )
        return r.document()

    def subnet_record(self, vpc: Vpc, s: Subnet, tier: str) -> dict[str, Any]:
        """A describe_subnets item."""
        used = s.cidr.num_addresses - 5 - len(s.free)
        record: dict[str, Any] = {
            "AvailabilityZone": f"{REGION}{s.az}",
            "AvailableIpAddressCount": s.cidr.num_addresses - 5 - used,
            "CidrBlock": str(s.cidr),
            "DefaultForAz": False,
            "MapPublicIpOnLaunch": tier == "public",
            "State": "available",
            "SubnetId": s.subnet_id,
            "VpcId": vpc.vpc_id,
            "OwnerId": self.owner,
            "AssignIpv6AddressOnCreation": False,
            "Ipv6CidrBlockAssociationSet": [],
            "Tags": [{"Key": "Name", "Value": s.name}, {"Key": "Tier", "Value": tier}],
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

    def vpc_record(self, env: str, vpc: Vpc) -> dict[str, Any]:
        """A describe_vpcs item with every associated CIDR block."""
        return vpc_item(self.new_id, self.owner, vpc.vpc_id, vpc.blocks, vpc.spec.ipv6, [{"Key": "Name", "Value": env}, {"Key": "Env", "Value": env}], REGION)

    def peer_info(self, vpc: Vpc) -> dict[str, Any]:
        """One side of the peering connection."""
        info: dict[str, Any] = {
            "CidrBlock": str(vpc.blocks[0]),
            "CidrBlockSet": [{"CidrBlock": str(b)} for b in vpc.blocks],
            "OwnerId": self.owner,
            "PeeringOptions": {"AllowDnsResolutionFromRemoteVpc": True},
            "VpcId": vpc.vpc_id,
            "Region": REGION,
        }
        if vpc.spec.ipv6:
            info["Ipv6CidrBlockSet"] = [{"Ipv6CidrBlock": vpc.spec.ipv6}]
        return info


# -------------------------------------------------------------------- the spec
PROVEN, REFUTED = "proven", "refuted"

DB = {"any_of": [{"security_group": "*-mysql"}, {"security_group": "*-postgres"}]}
PUBLIC_SUBNETS = ["prod-public-a-1", "prod-public-b-1", "prod-public-c-1"]
DB_SUBNETS = ["prod-db-a-1", "prod-db-b-1", "prod-db-c-1"]

INVARIANTS: list[tuple[str, dict[str, Any]]] = [
    (REFUTED, {"id": "internet-only-web-ports", "description": "the internet reaches no security group on anything but tcp/80 and tcp/443 (refuted: the staging debug host, office SSH to the bastions)",
               "deny": {"from": "internet", "to": {"security_group": "*"}, "ports": "all", "except_ports": ["tcp/80", "tcp/443"]}}),
    (PROVEN, {"id": "no-internet-to-db", "description": "no database accepts anything from the internet (the db NACL stops the staging 10.0.0.0/8 rule)",
              "deny": {"from": "internet", "to": "databases", "ports": "all"}}),
    (PROVEN, {"id": "prod-mysql-only-from-app", "description": "in prod, only app tiers reach MySQL on 3306",
              "only": {"from": "app-tier", "to": {"security_group": "*-mysql", "cidr": "10.0.0.0/12"}, "ports": "tcp/3306"}}),
    (REFUTED, {"id": "staging-mysql-only-from-app", "description": "in staging, only app tiers reach MySQL on 3306 (refuted: billing-mysql is open to 10.0.0.0/8)",
               "only": {"from": "app-tier", "to": {"security_group": "*-mysql", "vpc": "staging"}, "ports": "tcp/3306"}}),
    (PROVEN, {"id": "checkout-web-reaches-app", "description": "every checkout web server reaches every checkout app server on 8443",
              "reach": {"from": {"security_group": "prod-checkout-web"}, "to": {"security_group": "prod-checkout-app"}, "ports": "tcp/8443"}}),
    (REFUTED, {"id": "any-web-reaches-any-app", "description": "every prod web server reaches every prod app server (refuted: stacks are isolated)",
               "reach": {"from": {"security_group": "prod-*-web"}, "to": {"security_group": "prod-*-app"}, "ports": "tcp/8443"}}),
    (PROVEN, {"id": "checkout-alb-reaches-web", "description": "the checkout load balancer reaches every checkout web server on 8080",
              "reach": {"from": {"security_group": "prod-checkout-alb"}, "to": {"security_group": "prod-checkout-web"}, "ports": "tcp/8080"}}),
    (REFUTED, {"id": "internet-reaches-prod-alb", "description": "the whole internet reaches the prod load balancers on 443 (refuted: the public NACL denies an abusive range)",
               "reach": {"from": "internet", "to": {"security_group": "prod-*-alb"}, "ports": "tcp/443"}}),
    (PROVEN, {"id": "no-internet-ssh-to-prod-hosts", "description": "no prod host but the bastion accepts SSH from the internet",
              "deny": {"from": "internet", "to": {"all_of": [{"tag": {"Env": "prod"}}, {"not": {"tag": {"Role": "bastion"}}}]}, "ports": "tcp/22"}}),
    (PROVEN, {"id": "db-egress-https-only", "description": "databases send nothing to the internet but HTTPS",
              "deny": {"from": "databases", "to": "internet", "ports": "all", "except_ports": ["tcp/443"]}}),
    (PROVEN, {"id": "monitoring-scrapes-prod", "description": "Prometheus in the shared VPC scrapes every prod node exporter across the peering",
              "reach": {"from": {"tag": {"Role": "monitoring"}}, "to": {"security_group": "prod-node-exporter"}, "ports": "tcp/9100"}}),
    (REFUTED, {"id": "legacy-no-internet-8443", "description": "nothing in the legacy VPC takes 8443 from the internet (refuted: a rule names another account's group)",
               "deny": {"from": "internet", "to": {"vpc": "legacy"}, "ports": "tcp/8443"}}),
    (PROVEN, {"id": "web-only-from-alb", "description": "web servers take 8080 only from load balancers",
              "only": {"from": {"security_group": "*-alb"}, "to": {"security_group": "*-web"}, "ports": "tcp/8080"}}),
    (REFUTED, {"id": "no-app-mysql", "description": "no app host accepts 3306 (refuted: legacy hosts share the default group)",
               "deny": {"to": {"tag": {"Role": "app"}}, "ports": "tcp/3306"}}),
    (PROVEN, {"id": "public-subnets-no-db-ports", "description": "the prod public subnets cannot open database ports in the prod db subnets",
              "deny": {"from": {"subnet": PUBLIC_SUBNETS}, "to": {"subnet": DB_SUBNETS}, "ports": ["tcp/3306", "tcp/5432"]}}),
    (PROVEN, {"id": "prod-app-reaches-s3", "description": "every prod app host reaches every S3 address in 52.216.0.0/15 on 443",
              "reach": {"from": "prod-app-hosts", "to": {"cidr": "52.216.0.0/15"}, "ports": "tcp/443"}}),
    (PROVEN, {"id": "bastion-pings-checkout", "description": "the prod bastion can ping every checkout app server",
              "reach": {"from": {"security_group": "prod-bastion"}, "to": {"security_group": "prod-checkout-app"}, "ports": "icmp/8"}}),
    (PROVEN, {"id": "prod-reaches-shared-dns", "description": "prod app hosts resolve names through the shared DNS servers",
              "reach": {"from": "prod-app-hosts", "to": {"security_group": "shared-dns"}, "ports": "udp/53"}}),
    (REFUTED, {"id": "staging-reaches-shared-dns", "description": "staging app hosts resolve through the shared DNS servers (refuted: the shared app NACL admits only prod)",
               "reach": {"from": {"tag": {"Role": "app", "Env": "staging"}}, "to": {"security_group": "shared-dns"}, "ports": "udp/53"}}),
    (REFUTED, {"id": "ipv6-internet-only-web", "description": "the IPv6 internet reaches prod on tcp/80 and tcp/443 only (refuted: a forgotten test host)",
               "deny": {"from": {"all_of": ["internet", {"cidr": "::/0"}]}, "to": {"vpc": "prod"}, "ports": "all", "except_ports": ["tcp/80", "tcp/443"]}}),
]  # fmt: skip


def spec_document() -> dict[str, Any]:
    """The benchmark spec (contract section 3)."""
    return {
        "sgproof": 1,
        "name": "sgproof benchmark: three-tier account with shared services",
        "source": "network.json",
        "settings": {"ephemeral_ports": "1024-65535"},
        "groups": {
            "internet": {"internet": True},
            "databases": DB,
            "app-tier": {"security_group": "*-app"},
            "prod-app-hosts": {"tag": {"Role": "app", "Env": "prod"}},
        },
        "invariants": [inv for _, inv in INVARIANTS],
    }


# What routing changes, by construction (contract 4.5): every other invariant keeps its verdict.
ROUTED: dict[str, tuple[str, str]] = {
    "legacy-no-internet-8443": (
        PROVEN,
        "the partner API hosts sit in the legacy app tier without public addresses: an internet "
        "gateway carries nothing to a private address, so the foreign group's rule admits no packet",
    ),
}


def expected_verdicts(routing: bool = True) -> dict[str, str]:
    """The verdict each invariant has by construction at every size, with or without routing."""
    out = {inv["id"]: verdict for verdict, inv in INVARIANTS}
    if routing:
        out.update({k: v for k, (v, _) in ROUTED.items()})
    return out


PROFILES = ("friendly", "heterogeneous")


def profile_parts(profile: str) -> tuple[Any, Any, Any]:
    """The builder class, spec function and expected-verdicts function of a profile."""
    if profile == "friendly":
        return Builder, spec_document, expected_verdicts
    if profile == "heterogeneous":
        import gen_hetero

        return gen_hetero.HeteroBuilder, gen_hetero.spec_document, gen_hetero.expected_verdicts
    raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")


def write(
    out: Path, enis: int, seed: int, profile: str = "friendly", routing: bool = True
) -> dict[str, Any]:
    """Generate the network and spec of a profile into `out`; return a short summary."""
    builder, spec, expected = profile_parts(profile)
    out.mkdir(parents=True, exist_ok=True)
    doc = builder(enis, seed, routing).document()
    with open(out / "network.json", "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    header = (
        "# Generated by bench/generate.py; expected verdicts are in expected.json.\n"
        f"# profile {profile}, {enis} ENIs, seed {seed}, routing {'on' if routing else 'off'}.\n"
    )
    (out / "spec.yaml").write_text(
        header + yaml.safe_dump(spec(), sort_keys=False, width=120), encoding="utf-8"
    )
    (out / "expected.json").write_text(
        json.dumps(expected(routing), indent=2) + "\n", encoding="utf-8"
    )
    return summary(doc)


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """Counts of the main resources of a snapshot document."""
    return {
        "enis": len(doc["NetworkInterfaces"]),
        "security_groups": len(doc["SecurityGroups"]),
        "subnets": len(doc["Subnets"]),
        "vpcs": len(doc["Vpcs"]),
        "nacls": len(doc["NetworkAcls"]),
        "instances": sum(len(r["Instances"]) for r in doc["Reservations"]),
        "addresses": sum(
            len(e["PrivateIpAddresses"])
            + len(e["Ipv6Addresses"])
            + len(e.get("Ipv4Prefixes", []))
            + len(e.get("Ipv6Prefixes", []))
            for e in doc["NetworkInterfaces"]
        ),
        "route_tables": len(doc.get("RouteTables", [])),
    }


def iter_rules(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every ingress and egress permission of every group."""
    for group in doc["SecurityGroups"]:
        yield from group["IpPermissions"]
        yield from group["IpPermissionsEgress"]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--enis", type=int, default=10000, help="number of network interfaces (default 10000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--out", type=Path, default=Path("bench/out/10000"), help="output directory"
    )
    parser.add_argument(
        "--profile", choices=PROFILES, default="friendly", help="which network (default friendly)"
    )
    parser.add_argument(
        "--routing",
        choices=("on", "off"),
        default="on",
        help="route tables and gateways (default on); off makes the same network without them",
    )
    args = parser.parse_args(argv)
    try:
        info = write(args.out, args.enis, args.seed, args.profile, args.routing == "on")
    except ValueError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
