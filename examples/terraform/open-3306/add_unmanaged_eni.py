"""Add to the moto account an ENI that Terraform does not manage (a database replica's interface)."""

import boto3

ec2 = boto3.client("ec2", region_name="us-east-1")
subnet = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["billing-db"]}])["Subnets"][0]
group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["billing-mysql"]}])
ec2.create_network_interface(
    SubnetId=subnet["SubnetId"],
    Groups=[group["SecurityGroups"][0]["GroupId"]],
    PrivateIpAddress="10.30.10.30",
    Description="replica created outside Terraform",
    TagSpecifications=[{"ResourceType": "network-interface",
                        "Tags": [{"Key": "Name", "Value": "billing-replica"}, {"Key": "Role", "Value": "db"}]}],
)
