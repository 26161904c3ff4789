"""EC2 scenario: a VPC with a subnet, routing and security groups, key pairs, one instance through its
life cycle, a volume attached and snapshotted, an image, tags, and the usual errors.

Against real AWS this creates billable resources (a t3.micro instance for a few minutes, a 1 GiB gp3
volume, snapshots and an AMI); everything is deleted at the end. See scenarios/README.md.
"""

from __future__ import annotations

from _scenario import PREFIX, Scenario, client, expect_error, run

NAME = f"{PREFIX}-ec2"
MISSING_INSTANCE = "i-0123456789abcdef0"
MISSING_VOLUME = "vol-0123456789abcdef0"
# A fixed public key, so ImportKeyPair gives the same fingerprint everywhere.
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIONdV3nQW4sqv4KP5PvHMcSam4v9UboZs+B5JWYg0ZqI compat-diff-scenario"
)


def scenario(sc: Scenario) -> None:
    ec2 = client("ec2")
    tags = [{"Key": "Name", "Value": NAME}, {"Key": "project", "Value": "compat-diff"}]

    ec2.describe_regions(RegionNames=[ec2.meta.region_name])
    zones = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])
    zone = sorted(z["ZoneName"] for z in zones["AvailabilityZones"])[0]
    expect_error("DryRunOperation", ec2.describe_vpcs, DryRun=True)

    # Network: VPC, subnet, internet gateway and a route table.
    vpc_id = ec2.create_vpc(
        CidrBlock="10.42.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
    )["Vpc"]["VpcId"]
    sc.on_failure(ec2.delete_vpc, VpcId=vpc_id)
    ec2.get_waiter("vpc_available").wait(VpcIds=[vpc_id])
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
    ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.42.1.0/24", AvailabilityZone=zone)["Subnet"][
        "SubnetId"
    ]
    sc.on_failure(ec2.delete_subnet, SubnetId=subnet_id)
    ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    expect_error(
        ("InvalidSubnet.Conflict", "InvalidSubnet.Range"),
        ec2.create_subnet,
        VpcId=vpc_id,
        CidrBlock="10.42.1.0/24",
        AvailabilityZone=zone,
    )
    gateway_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    sc.on_failure(ec2.delete_internet_gateway, InternetGatewayId=gateway_id)
    ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)
    sc.on_failure(ec2.detach_internet_gateway, InternetGatewayId=gateway_id, VpcId=vpc_id)
    ec2.describe_internet_gateways(InternetGatewayIds=[gateway_id])
    route_table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    sc.on_failure(ec2.delete_route_table, RouteTableId=route_table_id)
    ec2.create_route(RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway_id)
    association_id = ec2.associate_route_table(RouteTableId=route_table_id, SubnetId=subnet_id)[
        "AssociationId"
    ]
    sc.on_failure(ec2.disassociate_route_table, AssociationId=association_id)
    ec2.describe_route_tables(RouteTableIds=[route_table_id])

    # Security groups and their rules.
    group_id = ec2.create_security_group(
        GroupName=f"{NAME}-web", Description="compat-diff scenario web tier", VpcId=vpc_id
    )["GroupId"]
    sc.on_failure(ec2.delete_security_group, GroupId=group_id)
    expect_error(
        "InvalidGroup.Duplicate",
        ec2.create_security_group,
        GroupName=f"{NAME}-web",
        Description="duplicate",
        VpcId=vpc_id,
    )
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]},
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=group_id,
        IpPermissions=[
            {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "10.42.0.2/32"}]}
        ],
    )
    ec2.revoke_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}
        ],
    )
    ec2.describe_security_groups(GroupIds=[group_id])
    ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    expect_error("InvalidGroup.NotFound", ec2.describe_security_groups, GroupIds=["sg-0123456789abcdef0"])

    # Key pairs: one imported (deterministic), one generated.
    ec2.import_key_pair(KeyName=f"{NAME}-imported", PublicKeyMaterial=PUBLIC_KEY.encode())
    sc.on_failure(ec2.delete_key_pair, KeyName=f"{NAME}-imported")
    ec2.create_key_pair(KeyName=f"{NAME}-generated")
    sc.on_failure(ec2.delete_key_pair, KeyName=f"{NAME}-generated")
    expect_error("InvalidKeyPair.Duplicate", ec2.create_key_pair, KeyName=f"{NAME}-generated")
    ec2.describe_key_pairs(KeyNames=[f"{NAME}-imported", f"{NAME}-generated"])
    expect_error("InvalidKeyPair.NotFound", ec2.describe_key_pairs, KeyNames=[f"{NAME}-missing"])

    # One instance through its life cycle.
    images = ec2.describe_images(
        Owners=["amazon"],
        Filters=[
            {"Name": "name", "Values": ["al2023-ami-2023.*-kernel-6.1-x86_64"]},
            {"Name": "state", "Values": ["available"]},
        ],
    )["Images"]
    image_id = max(images, key=lambda image: (image["Name"], image["ImageId"]))["ImageId"]
    reservation = ec2.run_instances(
        ImageId=image_id,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        KeyName=f"{NAME}-imported",
        SubnetId=subnet_id,
        SecurityGroupIds=[group_id],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )
    instance_id = reservation["Instances"][0]["InstanceId"]
    sc.on_failure(ec2.terminate_instances, InstanceIds=[instance_id])
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 5})
    ec2.describe_instances(InstanceIds=[instance_id])
    ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [NAME]}])
    ec2.describe_instance_status(InstanceIds=[instance_id])
    ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="instanceType")
    expect_error("InvalidInstanceID.NotFound", ec2.describe_instances, InstanceIds=[MISSING_INSTANCE])
    expect_error(
        ("InvalidInstanceID.Malformed", "InvalidInstanceID.NotFound"),
        ec2.describe_instances,
        InstanceIds=["i-not-an-id"],
    )
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "stage", "Value": "testing"}])
    ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}])
    ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": "stage"}])

    # A volume attached, snapshotted and detached.
    volume_id = ec2.create_volume(
        AvailabilityZone=zone,
        Size=1,
        VolumeType="gp3",
        TagSpecifications=[{"ResourceType": "volume", "Tags": tags}],
    )["VolumeId"]
    sc.on_failure(ec2.delete_volume, VolumeId=volume_id)
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig={"Delay": 5})
    ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[volume_id], WaiterConfig={"Delay": 5})
    ec2.describe_volumes(VolumeIds=[volume_id])
    expect_error("InvalidVolume.NotFound", ec2.describe_volumes, VolumeIds=[MISSING_VOLUME])
    snapshot_id = ec2.create_snapshot(VolumeId=volume_id, Description=f"{NAME} data")["SnapshotId"]
    sc.on_failure(ec2.delete_snapshot, SnapshotId=snapshot_id)
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id], WaiterConfig={"Delay": 15})
    ec2.describe_snapshots(SnapshotIds=[snapshot_id])
    ec2.detach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig={"Delay": 5})

    # Stop, image, start, terminate.
    ec2.stop_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 5})
    ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": "t3.small"})
    new_image_id = ec2.create_image(InstanceId=instance_id, Name=f"{NAME}-image", NoReboot=True)["ImageId"]
    sc.on_failure(ec2.deregister_image, ImageId=new_image_id)
    ec2.get_waiter("image_available").wait(ImageIds=[new_image_id], WaiterConfig={"Delay": 15})
    image = ec2.describe_images(ImageIds=[new_image_id])["Images"][0]
    ec2.start_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 5})
    expect_error("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id)
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 5})

    # Cleanup, in dependency order.
    ec2.deregister_image(ImageId=new_image_id)
    for mapping in image.get("BlockDeviceMappings", []):
        if "Ebs" in mapping and "SnapshotId" in mapping["Ebs"]:
            ec2.delete_snapshot(SnapshotId=mapping["Ebs"]["SnapshotId"])
    ec2.delete_snapshot(SnapshotId=snapshot_id)
    ec2.delete_volume(VolumeId=volume_id)
    expect_error("InvalidVolume.NotFound", ec2.delete_volume, VolumeId=volume_id)
    ec2.delete_key_pair(KeyName=f"{NAME}-imported")
    ec2.delete_key_pair(KeyName=f"{NAME}-generated")
    ec2.disassociate_route_table(AssociationId=association_id)
    ec2.delete_route_table(RouteTableId=route_table_id)
    ec2.detach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)
    ec2.delete_internet_gateway(InternetGatewayId=gateway_id)
    ec2.delete_security_group(GroupId=group_id)
    ec2.delete_subnet(SubnetId=subnet_id)
    ec2.delete_vpc(VpcId=vpc_id)
    expect_error("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[vpc_id])


if __name__ == "__main__":
    run("ec2", scenario)
