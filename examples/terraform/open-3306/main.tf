terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

variable "endpoint" {
  description = "local moto server that stands in for EC2 (see ../regen.sh)"
  type        = string
  default     = "http://127.0.0.1:4599"
}

variable "change" {
  description = "false: the network as applied; true: the reviewed change"
  type        = bool
  default     = false
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    ec2 = var.endpoint
    sts = var.endpoint
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.30.0.0/16"
  tags       = { Name = "billing" }
}

resource "aws_subnet" "app" {
  count      = 2
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.30.${count.index}.0/24"
  tags       = { Name = "billing-app-${count.index}" }
}

resource "aws_subnet" "db" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.30.10.0/24"
  tags       = { Name = "billing-db" }
}

resource "aws_security_group" "app" {
  name   = "billing-app"
  vpc_id = aws_vpc.main.id
  dynamic "ingress" {
    for_each = var.change ? [443, 8443] : [443]
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/8"]
    }
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "db" {
  name   = "billing-mysql"
  vpc_id = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_app" {
  security_group_id            = aws_security_group.db.id
  referenced_security_group_id = aws_security_group.app.id
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
}

# Removed by the change.
resource "aws_security_group_rule" "db_ssh_bastion" {
  count             = var.change ? 0 : 1
  type              = "ingress"
  security_group_id = aws_security_group.db.id
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["10.30.0.10/32"]
}

# Added by the change: MySQL open to the world.
resource "aws_vpc_security_group_ingress_rule" "db_mysql_world" {
  count             = var.change ? 1 : 0
  security_group_id = aws_security_group.db.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 3306
  to_port           = 3306
}

resource "aws_instance" "app" {
  for_each               = { a = 0, b = 1 }
  ami                    = "ami-03cf127a"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.app[each.value].id
  vpc_security_group_ids = [aws_security_group.app.id]
  tags                   = { Name = "billing-app-${each.key}", Role = "app" }
}

resource "aws_instance" "db" {
  ami                    = "ami-03cf127a"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.db.id
  private_ip             = "10.30.10.20"
  vpc_security_group_ids = [aws_security_group.db.id]
  tags                   = { Name = "billing-db", Role = "db" }
}

# Routing: app subnet 0 is public (internet gateway), app subnet 1 goes out through a NAT gateway in it,
# and the database subnet keeps the VPC's main table, which has only the local route.
resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_eip" "nat" {
  domain = "vpc"
}

resource "aws_nat_gateway" "main" {
  subnet_id     = aws_subnet.app[0].id
  allocation_id = aws_eip.nat.id
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.main.id
  }
}

resource "aws_default_route_table" "main" {
  default_route_table_id = aws_vpc.main.default_route_table_id
}

resource "aws_route_table_association" "app" {
  count          = 2
  subnet_id      = aws_subnet.app[count.index].id
  route_table_id = count.index == 0 ? aws_route_table.public.id : aws_route_table.private.id
}
