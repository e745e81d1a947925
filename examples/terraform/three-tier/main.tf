# Three tiers: a public ALB in front of web hosts, an app tier from a module, MySQL on RDS.
resource "aws_vpc" "main" {
  cidr_block = "10.20.0.0/16"
  tags       = { Name = "shop" }
}

locals {
  tiers = {
    public   = { cidr = "10.20.0.0/24", az = "us-east-1a" }
    public-b = { cidr = "10.20.5.0/24", az = "us-east-1b" }
    web    = { cidr = "10.20.1.0/24", az = "us-east-1a" }
    app    = { cidr = "10.20.2.0/24", az = "us-east-1a" }
    db-a   = { cidr = "10.20.3.0/24", az = "us-east-1a" }
    db-b   = { cidr = "10.20.4.0/24", az = "us-east-1b" }
  }
}

resource "aws_subnet" "tier" {
  for_each          = local.tiers
  vpc_id            = aws_vpc.main.id
  cidr_block        = each.value.cidr
  availability_zone = each.value.az
  tags              = { Name = "shop-${each.key}" }
}

# Load balancer group: inline rules only.
resource "aws_security_group" "alb" {
  name   = "shop-alb"
  vpc_id = aws_vpc.main.id
  ingress {
    description = "https from anywhere"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = ["10.20.1.0/24"]
  }
}

# Web hosts: standalone rules (aws_vpc_security_group_*_rule).
resource "aws_security_group" "web" {
  name   = "shop-web"
  vpc_id = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "web_from_alb" {
  security_group_id            = aws_security_group.web.id
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
}

resource "aws_vpc_security_group_egress_rule" "web_to_app" {
  security_group_id            = aws_security_group.web.id
  referenced_security_group_id = module.app.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 9000
  to_port                      = 9000
}

resource "aws_instance" "web" {
  count                  = 2
  ami                    = "ami-0123456789abcdef0"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.tier["web"].id
  vpc_security_group_ids = [aws_security_group.web.id]
  tags                   = { Name = "web-${count.index}", Role = "web" }
}

module "app" {
  source     = "./modules/app"
  vpc_id     = aws_vpc.main.id
  subnet_id  = aws_subnet.tier["app"].id
  web_sg_id  = aws_security_group.web.id
  db_sg_id   = aws_security_group.db.id
  host_count = 2
}

# Database group: legacy aws_security_group_rule resources.
resource "aws_security_group" "db" {
  name   = "shop-mysql"
  vpc_id = aws_vpc.main.id
}

resource "aws_security_group_rule" "db_from_app" {
  type                     = "ingress"
  security_group_id        = aws_security_group.db.id
  source_security_group_id = module.app.security_group_id
  protocol                 = "tcp"
  from_port                = 3306
  to_port                  = 3306
}

resource "aws_db_subnet_group" "db" {
  name       = "shop-db"
  subnet_ids = [aws_subnet.tier["db-a"].id, aws_subnet.tier["db-b"].id]
}

resource "aws_db_instance" "db" {
  identifier             = "shop"
  engine                 = "mysql"
  instance_class         = "db.t3.micro"
  allocated_storage      = 20
  username               = "shop"
  password               = "not-a-real-password"
  db_subnet_group_name   = aws_db_subnet_group.db.name
  vpc_security_group_ids = [aws_security_group.db.id]
  skip_final_snapshot    = true
}

resource "aws_lb" "front" {
  name               = "shop-front"
  load_balancer_type = "application"
  subnets            = [aws_subnet.tier["public"].id, aws_subnet.tier["public-b"].id]
  security_groups    = [aws_security_group.alb.id]
}

# The database subnets get their own NACL: MySQL from the app subnet only, replies back to it.
resource "aws_network_acl" "db" {
  vpc_id     = aws_vpc.main.id
  subnet_ids = [aws_subnet.tier["db-a"].id, aws_subnet.tier["db-b"].id]
}

resource "aws_network_acl_rule" "db_in_mysql" {
  network_acl_id = aws_network_acl.db.id
  rule_number    = 100
  egress         = false
  protocol       = "tcp"
  rule_action    = "allow"
  cidr_block     = "10.20.2.0/24"
  from_port      = 3306
  to_port        = 3306
}

resource "aws_network_acl_rule" "db_out_replies" {
  network_acl_id = aws_network_acl.db.id
  rule_number    = 100
  egress         = true
  protocol       = "tcp"
  rule_action    = "allow"
  cidr_block     = "10.20.2.0/24"
  from_port      = 1024
  to_port        = 65535
}

# Routing: the public subnets reach the internet through the internet gateway, web and app hosts go out
# through a NAT gateway, and the database subnets have no default route at all.
resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_eip" "nat" {
  domain = "vpc"
}

resource "aws_nat_gateway" "main" {
  subnet_id     = aws_subnet.tier["public"].id
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

# The VPC's main table keeps only the local route; the database subnets use it.
resource "aws_default_route_table" "main" {
  default_route_table_id = aws_vpc.main.default_route_table_id
}

resource "aws_route_table_association" "public" {
  for_each       = toset(["public", "public-b"])
  subnet_id      = aws_subnet.tier[each.key].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table_association" "private" {
  for_each       = toset(["web", "app"])
  subnet_id      = aws_subnet.tier[each.key].id
  route_table_id = aws_route_table.private.id
}
