variable "vpc_id" { type = string }
variable "subnet_id" { type = string }
variable "web_sg_id" { type = string }
variable "db_sg_id" { type = string }
variable "host_count" { type = number }

resource "aws_security_group" "app" {
  name   = "shop-app"
  vpc_id = var.vpc_id
  ingress {
    from_port       = 9000
    to_port         = 9000
    protocol        = "tcp"
    security_groups = [var.web_sg_id]
  }
  egress {
    from_port       = 3306
    to_port         = 3306
    protocol        = "6"
    security_groups = [var.db_sg_id]
  }
}

resource "aws_instance" "app" {
  count                  = var.host_count
  ami                    = "ami-0123456789abcdef0"
  instance_type          = "t3.small"
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.app.id]
  tags                   = { Name = "app-${count.index}", Role = "app" }
}

output "security_group_id" { value = aws_security_group.app.id }
