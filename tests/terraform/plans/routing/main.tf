# Routing resources of every kind sgproof reads from a plan (planned offline, nothing exists yet).
resource "aws_vpc" "main" {
  cidr_block                       = "10.50.0.0/16"
  assign_generated_ipv6_cidr_block = false
}

resource "aws_vpc" "peer" {
  cidr_block = "10.60.0.0/16"
}

resource "aws_subnet" "public" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.50.0.0/24"
}

resource "aws_subnet" "private" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.50.1.0/24"
}

resource "aws_subnet" "db" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.50.2.0/24"
}

resource "aws_subnet" "peer" {
  vpc_id     = aws_vpc.peer.id
  cidr_block = "10.60.0.0/24"
}

resource "aws_internet_gateway" "igw" {
  vpc_id = aws_vpc.main.id
}

resource "aws_eip" "nat" {
  domain = "vpc"
}

resource "aws_nat_gateway" "nat" {
  subnet_id     = aws_subnet.public.id
  allocation_id = aws_eip.nat.id
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.igw.id
  }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
}

resource "aws_route" "private_default" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.nat.id
}

resource "aws_route" "private_peer" {
  route_table_id            = aws_route_table.private.id
  destination_cidr_block    = "10.60.0.0/16"
  vpc_peering_connection_id = aws_vpc_peering_connection.peer.id
}

resource "aws_route_table" "db" {
  vpc_id = aws_vpc.main.id
}

resource "aws_main_route_table_association" "main" {
  vpc_id         = aws_vpc.main.id
  route_table_id = aws_route_table.db.id
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table_association" "private" {
  subnet_id      = aws_subnet.private.id
  route_table_id = aws_route_table.private.id
}

resource "aws_vpc_peering_connection" "peer" {
  vpc_id      = aws_vpc.main.id
  peer_vpc_id = aws_vpc.peer.id
  auto_accept = true
}

resource "aws_default_route_table" "peer" {
  default_route_table_id = aws_vpc.peer.default_route_table_id
  route {
    cidr_block                = "10.50.1.0/24"
    vpc_peering_connection_id = aws_vpc_peering_connection.peer.id
  }
  route {
    cidr_block         = "192.168.0.0/16"
    transit_gateway_id = aws_ec2_transit_gateway.tgw.id
  }
}

resource "aws_vpn_gateway" "vgw" {
  vpc_id = aws_vpc.main.id
}

resource "aws_vpn_gateway_route_propagation" "private" {
  vpn_gateway_id = aws_vpn_gateway.vgw.id
  route_table_id = aws_route_table.private.id
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.us-east-1.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]
}

resource "aws_ec2_transit_gateway" "tgw" {}

resource "aws_ec2_transit_gateway_vpc_attachment" "peer" {
  transit_gateway_id = aws_ec2_transit_gateway.tgw.id
  vpc_id             = aws_vpc.peer.id
  subnet_ids         = [aws_subnet.peer.id]
}

resource "aws_ec2_transit_gateway_route_table" "extra" {
  transit_gateway_id = aws_ec2_transit_gateway.tgw.id
}

resource "aws_ec2_transit_gateway_route" "blackhole" {
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.extra.id
  destination_cidr_block         = "10.99.0.0/16"
  blackhole                      = true
}

resource "aws_ec2_transit_gateway_route_table_propagation" "extra" {
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.extra.id
  transit_gateway_attachment_id  = aws_ec2_transit_gateway_vpc_attachment.peer.id
}

resource "aws_instance" "web" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.public.id
  private_ip    = "10.50.0.10"
}

resource "aws_eip" "web" {
  domain   = "vpc"
  instance = aws_instance.web.id
}
