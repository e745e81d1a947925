"""moto gives a NAT gateway's ENI the type `interface` and an address outside its subnet, which AWS never
does (and sgproof refuses): in the collected snapshot, type it `nat_gateway` and move it to the subnet's
.250, as AWS would have chosen one of the subnet's own addresses."""

import ipaddress
import json
import sys

path = sys.argv[1]
doc = json.load(open(path, encoding="utf-8"))
subnets = {s["SubnetId"]: ipaddress.ip_network(s["CidrBlock"]) for s in doc["Subnets"]}
moved = {}
nat_enis = {a.get("NetworkInterfaceId") for nat in doc.get("NatGateways", []) for a in nat.get("NatGatewayAddresses", [])}
for eni in doc["NetworkInterfaces"]:
    net = subnets[eni["SubnetId"]]
    if eni["NetworkInterfaceId"] in nat_enis:
        eni["InterfaceType"] = "nat_gateway"
        eni["RequesterManaged"] = True
    if eni["NetworkInterfaceId"] in nat_enis and ipaddress.ip_address(eni["PrivateIpAddress"]) not in net:
        new = str(net.network_address + 250)
        moved[eni["PrivateIpAddress"]] = new
        eni["PrivateIpAddress"] = new
        for item in eni.get("PrivateIpAddresses", []):
            item["PrivateIpAddress"] = new
for nat in doc.get("NatGateways", []):
    for a in nat.get("NatGatewayAddresses", []):
        a["PrivateIp"] = moved.get(a.get("PrivateIp"), a.get("PrivateIp"))
with open(path, "w", encoding="utf-8") as fh:
    json.dump(doc, fh, indent=2, sort_keys=True)
    fh.write("\n")
