"""Keystone users, service catalogue and the EC2 credentials of the openstack-ec2 candidate.

Run with Debian's python3 (the OpenStack client libraries): keystone_setup.py KEYSTONE_URL PORTS_JSON
Prints {"access", "secret", "project_id"} of the EC2 user as JSON. Safe to run twice.
"""

import json
import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

keystone_url, ports = sys.argv[1], json.loads(sys.argv[2])
auth = v3.Password(
    auth_url=keystone_url,
    username="admin",
    password="adminpass",
    project_name="admin",
    user_domain_id="default",
    project_domain_id="default",
)
ks = client.Client(session=session.Session(auth=auth))


def named(manager, name, **create):
    for item in manager.list():
        if item.name == name:
            return item
    return manager.create(name=name, **create)


service_project = named(ks.projects, "service", domain="default")
roles = {role.name: role for role in ks.roles.list()}
# nova sends a service token (X-Service-Token) that must carry the 'service' role
service_role = roles.get("service") or ks.roles.create(name="service")
base = "http://127.0.0.1:%d"
catalogue = {
    # service user: (service name, type, url)
    "glance": ("glance", "image", base % ports["glance"]),
    "placement": ("placement", "placement", base % ports["placement"]),
    "nova": ("nova", "compute", base % ports["nova"] + "/v2.1"),
    "neutron": ("neutron", "network", base % ports["neutron"]),
    "cinder": ("cinderv3", "volumev3", base % ports["cinder"] + "/v3/%(project_id)s"),
    "ec2api": ("ec2", "ec2", base % ports["ec2"]),
}
users = {user.name: user for user in ks.users.list()}
for user_name, (service_name, service_type, url) in catalogue.items():
    if user_name not in users:
        users[user_name] = ks.users.create(
            name=user_name, password="servicepass", domain="default", default_project=service_project
        )
    for role in (roles["admin"], service_role):
        ks.roles.grant(role, user=users[user_name], project=service_project)
    existing = [svc for svc in ks.services.list() if svc.type == service_type]
    service = existing[0] if existing else ks.services.create(name=service_name, type=service_type)
    interfaces = {endpoint.interface for endpoint in ks.endpoints.list(service=service)}
    for interface in ("public", "internal", "admin"):
        if interface not in interfaces:
            ks.endpoints.create(service=service, url=url, interface=interface, region="RegionOne")

project = named(ks.projects, "ec2demo", domain="default")
if "ec2user" not in users:
    users["ec2user"] = ks.users.create(
        name="ec2user", password="ec2pass", domain="default", default_project=project
    )
ks.roles.grant(roles["member"], user=users["ec2user"], project=project)
credentials = ks.ec2.list(users["ec2user"].id) or [ks.ec2.create(users["ec2user"].id, project.id)]
print(
    json.dumps({"access": credentials[0].access, "secret": credentials[0].secret, "project_id": project.id})
)
