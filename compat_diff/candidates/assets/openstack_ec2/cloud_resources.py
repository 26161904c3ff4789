"""What ec2-api expects an operator to have made: an external network 'public' (elastic IPs, internet
gateways), flavors named like EC2 instance types, one small public image, EC2 volume types.

Run with Debian's python3: cloud_resources.py KEYSTONE_URL. Safe to run twice.
"""

import io
import sys

from cinderclient import client as cinder_client
from glanceclient import client as glance_client
from keystoneauth1 import session
from keystoneauth1.identity import v3
from neutronclient.v2_0 import client as neutron_client
from novaclient import client as nova_client

auth = v3.Password(
    auth_url=sys.argv[1],
    username="admin",
    password="adminpass",
    project_name="admin",
    user_domain_id="default",
    project_domain_id="default",
)
sess = session.Session(auth=auth)
neutron = neutron_client.Client(session=sess, region_name="RegionOne")
nova = nova_client.Client("2.1", session=sess, region_name="RegionOne")
glance = glance_client.Client("2", session=sess, region_name="RegionOne")
cinder = cinder_client.Client("3", session=sess, region_name="RegionOne")

if not neutron.list_networks(name="public")["networks"]:
    network = neutron.create_network(
        {
            "network": {
                "name": "public",
                "router:external": True,
                "shared": False,
                "provider:network_type": "flat",
                "provider:physical_network": "public",
            }
        }
    )["network"]
    # a documentation range: nothing is ever routed there
    neutron.create_subnet(
        {
            "subnet": {
                "name": "public-subnet",
                "network_id": network["id"],
                "ip_version": 4,
                "cidr": "198.51.100.0/24",
                "gateway_ip": "198.51.100.1",
                "enable_dhcp": False,
                "allocation_pools": [{"start": "198.51.100.10", "end": "198.51.100.250"}],
            }
        }
    )
print("network public", flush=True)

# ec2-api maps InstanceType to the flavor of that name (m1.small when none is given)
FLAVORS = [
    ("t1.micro", 1, 613),
    ("m1.tiny", 1, 512),
    ("m1.small", 1, 1740),
    ("m1.medium", 1, 3840),
    ("t2.nano", 1, 512),
    ("t2.micro", 1, 1024),
    ("t2.small", 1, 2048),
    ("t2.medium", 2, 4096),
    ("t3.micro", 2, 1024),
    ("t3.small", 2, 2048),
    ("m5.large", 2, 8192),
]
have = {flavor.name for flavor in nova.flavors.list(is_public=None)}
for number, (name, vcpus, ram) in enumerate(FLAVORS, start=1):
    if name not in have:
        nova.flavors.create(name, ram, vcpus, 1, flavorid=str(number))
print("flavors", flush=True)

# nothing boots it: nova runs the fake virt driver
if not list(glance.images.list(filters={"name": "fake-linux"})):
    image = glance.images.create(
        name="fake-linux",
        disk_format="raw",
        container_format="bare",
        visibility="public",
        architecture="x86_64",
    )
    glance.images.upload(image["id"], io.BytesIO(b"\0" * 1048576))
print("image fake-linux", flush=True)

have = {volume_type.name for volume_type in cinder.volume_types.list()}
for name in ("standard", "gp2", "gp3", "io1", "sc1", "st1"):
    if name not in have:
        cinder.volume_types.create(name)
print("volume types", flush=True)
