"""Recipe for OpenStack's EC2 API (ec2-api 17.0.0) in front of a minimal OpenStack on loopback.

The stack: MariaDB, RabbitMQ (with its own epmd), Keystone and Placement under uwsgi, Glance, Nova
(api, conductor, scheduler, compute with the fake virt driver), Neutron (ML2/openvswitch with a pretend
agent that reports once), Cinder (the fake volume driver) and ec2-api itself. The OpenStack services
come from Debian 12's packages and run with Debian's python3; ec2-api runs from its own virtualenv
(scripts/install-candidates.sh makes it), patched to send a service token to Keystone's ec2tokens.

Provisioning from nothing (schemas, Keystone bootstrap, network, flavors, image) takes minutes, so the
first start saves a clean copy of the stopped stack (the *pristine* copy, under the project's work
folder) and every later start restores it into the run's own directory and starts the services: about
half a minute. The pristine copy remembers the internal ports it was made with (they are written into
Keystone's catalogue and Nova's cell mapping); when one of them is taken, the stack is provisioned
again from nothing with new ports.

Every server is started in a session of its own and stopped by pid, services before the message queue
and the database (reverse start order). A set-up step that fails names itself and quotes its log.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from compat_diff.candidates import process
from compat_diff.candidates.base import (
    ASSETS,
    INSTALL_HINT,
    CandidateSpec,
    Installed,
    LaunchContext,
    RunningCandidate,
    project_root,
)
from compat_diff.candidates.process import LOOPBACK
from compat_diff.errors import CannotRun

NAME = "openstack-ec2"
REGION = "RegionOne"
EC2_API_VERSION = "17.0.0"
# Bump when the layout of the stack changes, so an older pristine copy is provisioned again.
RECIPE_VERSION = "1"
DEBIAN_PYTHON = "/usr/bin/python3"
DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")
OPENSTACK_MODULES = ("keystone", "placement", "glance", "nova", "neutron", "cinder")
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
_RECIPE = ASSETS / "openstack_ec2"
_HOST = "ec2stack-compute"  # nova-compute's host name, which is also the pretend OVS agent's
# Unix sockets cannot have paths longer than this (sun_path is 108 bytes with its terminator).
_MAX_SOCKET_PATH = 100
PORT_NAMES = ("db", "mq", "epmd", "mqdist", "keystone", "glance", "nova", "placement", "neutron", "cinder")
# Internal ports are chosen here, below Linux's ephemeral range (32768 and up).
_PORT_RANGE = (20000, 32000)

_WRAPPERS = {
    "keystone-manage": "keystone.cmd.manage",
    "placement-manage": "placement.cmd.manage",
    "glance-manage": "glance.cmd.manage",
    "glance-api": "glance.cmd.api",
    "nova-manage": "nova.cmd.manage",
    "nova-api": "nova.cmd.api",
    "nova-conductor": "nova.cmd.conductor",
    "nova-scheduler": "nova.cmd.scheduler",
    "nova-compute": "nova.cmd.compute",
    "neutron-db-manage": "neutron.db.migration.cli",
    "neutron-server": "neutron.cmd.eventlet.server",
    "cinder-manage": "cinder.cmd.manage",
    "cinder-api": "cinder.cmd.api",
    "cinder-scheduler": "cinder.cmd.scheduler",
    "cinder-volume": "cinder.cmd.volume",
}
DATABASES = (
    "keystone",
    "glance",
    "placement",
    "nova_api",
    "nova",
    "nova_cell0",
    "neutron",
    "cinder",
    "ec2api",
)


# ---- where things live ------------------------------------------------------------------------


def home() -> Path:
    """The candidate's folder in the project's work folder: ec2-api's venv and the pristine copy."""
    override = os.environ.get("COMPAT_DIFF_OPENSTACK_EC2_HOME")
    if override:
        return Path(override)
    local = Path.cwd() / ".work" / NAME
    if (local / "venv" / "bin" / "ec2-api").is_file():
        return local
    return project_root() / ".work" / NAME


def venv() -> Path:
    return home() / "venv"


def pristine_dir() -> Path:
    return home() / "pristine"


def _installed() -> Installed:
    missing = [name for name in OPENSTACK_MODULES if not (DIST_PACKAGES / name).is_dir()]
    if not Path(DEBIAN_PYTHON).is_file() or missing:
        return Installed(
            False,
            f"Debian's OpenStack packages are missing ({', '.join(missing) or 'python3'}); {INSTALL_HINT}",
        )
    for tool in ("mariadbd", "mariadb-install-db", "uwsgi", "epmd"):
        if shutil.which(tool) is None:
            return Installed(False, f"{tool} not found on PATH; {INSTALL_HINT}")
    if not (RABBITMQ_BIN / "rabbitmq-server").is_file():
        return Installed(False, f"rabbitmq-server is not installed; {INSTALL_HINT}")
    if not (venv() / "bin" / "ec2-api").is_file():
        return Installed(False, f"ec2-api {EC2_API_VERSION} is not installed in {venv()}; {INSTALL_HINT}")
    patched = [
        path
        for path in venv().glob("lib/python3*/site-packages/ec2api/api/__init__.py")
        if "X-Auth-Token" in path.read_text(errors="replace")
    ]
    if not patched:
        return Installed(False, f"ec2-api in {venv()} lacks the Keystone service-token patch; {INSTALL_HINT}")
    return Installed(True)


# ---- configuration files ----------------------------------------------------------------------


class Stack:
    """Paths, ports and config files of one stack directory."""

    def __init__(self, base: Path, ports: dict[str, int], ec2_port: int, socket_dir: Path) -> None:
        self.base = base
        self.ports = ports
        self.ec2_port = ec2_port
        self.socket = socket_dir / "mysqld.sock"
        self.db_url = f"mysql+pymysql://stack:stackdb@{LOOPBACK}:{ports['db']}"
        self.mq_url = f"rabbit://stack:stackmq@{LOOPBACK}:{ports['mq']}/"
        self.keystone = f"http://{LOOPBACK}:{ports['keystone']}/v3"

    def path(self, *parts: str) -> Path:
        return self.base.joinpath(*parts)

    @property
    def rabbit_env(self) -> dict[str, str]:
        base, ports = self.base, self.ports
        return {
            "HOME": str(base / "data/rabbit/home"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "etc/rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(base / "etc/rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "etc/rabbitmq-enabled-plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "data/rabbit/mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log/rabbit"),
            "RABBITMQ_PID_FILE": str(base / "data/rabbit/rabbitmq.pid"),
            "RABBITMQ_NODENAME": "ec2stack@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(ports["mq"]),
            "RABBITMQ_DIST_PORT": str(ports["mqdist"]),
            "ERL_EPMD_PORT": str(ports["epmd"]),
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _authtoken(self, user: str) -> str:
        return (
            "[keystone_authtoken]\n"
            f"www_authenticate_uri = {self.keystone}\n"
            f"{self._client(user, region=False)}"
            "service_token_roles_required = true\n"
            "memcached_servers =\n"
        )

    def _client(self, user: str, *, region: bool = True) -> str:
        text = (
            f"auth_url = {self.keystone}\nauth_type = password\nproject_domain_name = Default\n"
            f"user_domain_name = Default\nproject_name = service\nusername = {user}\npassword = servicepass\n"
        )
        return text + (f"region_name = {REGION}\n" if region else "")

    def write_configs(self) -> None:
        """Every config file of the stack, for this directory and these ports (no state involved)."""
        base, ports = self.base, self.ports
        for sub in ("bin", "etc", "log/rabbit", "data/rabbit/home", "data/keystone"):
            self.path(sub).mkdir(parents=True, exist_ok=True)
        for sub in ("placement", "glance", "nova", "neutron", "cinder", "ec2api", "keystone"):
            self.path("etc", sub).mkdir(parents=True, exist_ok=True)
        for sub in ("glance/images", "glance/staging", "glance/tasks", "nova/instances", "neutron", "cinder"):
            self.path("data", sub).mkdir(parents=True, exist_ok=True)
        self.path("data/ec2api").mkdir(parents=True, exist_ok=True)
        for wrapper, module in _WRAPPERS.items():
            script = self.path("bin", wrapper)
            script.write_text(f"#!{DEBIAN_PYTHON}\nimport sys\nfrom {module} import main\nsys.exit(main())\n")
            script.chmod(0o755)
        self.path("bin/keystone-wsgi.py").write_text(
            "from keystone.server.wsgi import initialize_public_application\n"
            "application = initialize_public_application()\n"
        )
        self.path("bin/placement-wsgi.py").write_text(
            "from placement.wsgi import init_application\napplication = init_application()\n"
        )
        pastes = {"glance": "glance-api-paste.ini", "nova": "nova-api-paste.ini"}
        pastes.update({"neutron": "neutron-api-paste.ini", "cinder": "cinder-api-paste.ini"})
        pastes["ec2api"] = "ec2api-api-paste.ini"
        for service, asset in pastes.items():
            shutil.copyfile(_RECIPE / asset, self.path("etc", service, "api-paste.ini"))

        self.path("etc/rabbitmq-env.conf").write_text("")
        self.path("etc/rabbitmq-enabled-plugins").write_text("[].\n")
        self.path("etc/rabbitmq.conf").write_text(
            f"listeners.tcp.default = {LOOPBACK}:{ports['mq']}\n"
            "log.console = false\nlog.file.level = warning\n"
        )
        self.path("etc/keystone/keystone.conf").write_text(f"""\
[DEFAULT]
log_file = {base}/log/keystone.log
[database]
connection = {self.db_url}/keystone
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = {base}/data/keystone/fernet-keys
[fernet_receipts]
key_repository = {base}/data/keystone/fernet-keys
[credential]
key_repository = {base}/data/keystone/credential-keys
[cache]
# memory_pickle: with plain 'memory' the cached EC2 credential is changed in place and the second
# /v3/ec2tokens call fails with KeyError 'encrypted_blob'
enabled = true
backend = dogpile.cache.memory_pickle
[identity]
password_hash_rounds = 4
""")
        self.path("etc/placement/placement.conf").write_text(f"""\
[DEFAULT]
log_file = {base}/log/placement.log
[placement_database]
connection = {self.db_url}/placement
[api]
auth_strategy = keystone
{self._authtoken("placement")}""")
        self.path("etc/glance/glance-api.conf").write_text(f"""\
[DEFAULT]
bind_host = {LOOPBACK}
bind_port = {ports["glance"]}
workers = 1
log_file = {base}/log/glance-api.log
enabled_backends = file:file
[database]
connection = {self.db_url}/glance
[paste_deploy]
flavor = keystone
config_file = {base}/etc/glance/api-paste.ini
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = {base}/data/glance/images
[os_glance_staging_store]
filesystem_store_datadir = {base}/data/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = {base}/data/glance/tasks
[oslo_concurrency]
lock_path = {base}/data/glance
{self._authtoken("glance")}""")
        nova = f"""\
[DEFAULT]
transport_url = {self.mq_url}
compute_driver = fake.FakeDriver
host = {_HOST}
my_ip = {LOOPBACK}
enabled_apis = osapi_compute
osapi_compute_listen = {LOOPBACK}
osapi_compute_listen_port = {ports["nova"]}
osapi_compute_workers = 1
state_path = {base}/data/nova
instances_path = {base}/data/nova/instances
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = {base}/etc/nova/api-paste.ini
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 10
[oslo_concurrency]
lock_path = {base}/data/nova
[oslo_messaging_notifications]
driver = noop
[vnc]
enabled = false
[placement]
{self._client("placement")}[neutron]
{self._client("neutron")}[glance]
region_name = {REGION}
[cinder]
os_region_name = {REGION}
{self._client("cinder")}[service_user]
# a service token with user requests: cinder then deletes volume attachments without calling nova back
# with a re-scoped EC2-derived token, which Debian's Keystone refuses (volumes would stay in-use)
send_service_user_token = true
{self._client("nova")}{self._authtoken("nova")}"""
        # nova-compute refuses to start when it sees database settings
        self.path("etc/nova/nova-cpu.conf").write_text(nova)
        self.path("etc/nova/nova.conf").write_text(
            nova + f"[api_database]\nconnection = {self.db_url}/nova_api\n"
            f"[database]\nconnection = {self.db_url}/nova\n"
        )
        self.path("etc/neutron/neutron.conf").write_text(f"""\
[DEFAULT]
bind_host = {LOOPBACK}
bind_port = {ports["neutron"]}
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = {self.mq_url}
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 1
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
# the pretend OVS agent reports its state once; this keeps it "alive" for weeks
agent_down_time = 2147483
dhcp_agent_notification = false
allow_overlapping_ips = true
api_paste_config = {base}/etc/neutron/api-paste.ini
state_path = {base}/data/neutron
log_file = {base}/log/neutron-server.log
[database]
connection = {self.db_url}/neutron
[oslo_concurrency]
lock_path = {base}/data/neutron
[oslo_messaging_notifications]
driver = noop
[nova]
{self._client("nova")}{self._authtoken("neutron")}[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = openvswitch
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[ml2_type_vxlan]
vni_ranges = 1:10000
[securitygroup]
enable_security_group = true
firewall_driver = openvswitch
""")
        self.path("etc/cinder/cinder.conf").write_text(f"""\
[DEFAULT]
transport_url = {self.mq_url}
auth_strategy = keystone
osapi_volume_listen = {LOOPBACK}
osapi_volume_listen_port = {ports["cinder"]}
osapi_volume_workers = 1
api_paste_config = {base}/etc/cinder/api-paste.ini
state_path = {base}/data/cinder
my_ip = {LOOPBACK}
host = ec2stack-cinder
storage_availability_zone = nova
default_availability_zone = nova
enabled_backends = fake
default_volume_type = standard
[database]
connection = {self.db_url}/cinder
[oslo_concurrency]
lock_path = {base}/data/cinder
[oslo_messaging_notifications]
driver = noop
[fake]
# cinder's own fake driver (shipped in python3-cinder): records calls, stores nothing
volume_driver = cinder.tests.fake_driver.FakeLoggingVolumeDriver
volume_backend_name = fake
[nova]
{self._client("nova")}{self._authtoken("cinder")}""")
        self.write_ec2api_conf()

    def write_ec2api_conf(self) -> None:
        base = self.base
        client = "\n".join(line for line in self._client("ec2api").splitlines() if "region_name" not in line)
        self.path("etc/ec2api/ec2api.conf").write_text(f"""\
[DEFAULT]
log_file = {base}/log/ec2-api.log
state_path = {base}/data/ec2api
ec2api_listen = {LOOPBACK}
ec2api_listen_port = {self.ec2_port}
ec2api_workers = 1
metadata_listen = {LOOPBACK}
metadata_listen_port = {self.ports.get("metadata", 0)}
metadata_workers = 1
keystone_ec2_tokens_url = {self.keystone}/ec2tokens
region_list = {REGION}
my_ip = {LOOPBACK}
ec2_host = {LOOPBACK}
ec2_port = {self.ec2_port}
external_network = public
disable_ec2_classic = True
default_flavor = m1.small
api_paste_config = {base}/etc/ec2api/api-paste.ini
[database]
connection = {self.db_url}/ec2api
[keystone_authtoken]
{client}
[oslo_concurrency]
lock_path = {base}/data/ec2api
""")


# ---- starting the servers ---------------------------------------------------------------------


def _uwsgi(stack: Stack, name: str, port: int) -> list[str]:
    return [
        shutil.which("uwsgi") or "uwsgi",
        "--plugin", "python3", "--master", "--processes", "1", "--threads", "4", "--die-on-term",
        "--lazy-apps", "--buffer-size", "65535",
        # uwsgi's http socket does not keep connections alive; without this header python-requests
        # reuses the socket and fails with RemoteDisconnected
        "--add-header", "Connection: close",
        "--http-socket", f"{LOOPBACK}:{port}",
        "--wsgi-file", str(stack.path("bin", f"{name}-wsgi.py")),
        "--logto", str(stack.path("log", f"{name}-uwsgi.log")),
    ]  # fmt: skip


def _mariadb(stack: Stack) -> list[str]:
    return [shutil.which("mariadb") or "mariadb", "--no-defaults", "-S", str(stack.socket), "-uroot"]


def _sql(ctx: LaunchContext, stack: Stack, label: str, statements: str) -> str:
    return ctx.run(label, [*_mariadb(stack), "-N", "-e", statements])


def _start_base(ctx: LaunchContext, stack: Stack) -> None:
    """epmd, MariaDB and RabbitMQ; returns once the database answers."""
    ctx.spawn(
        "epmd", [shutil.which("epmd") or "epmd", "-address", LOOPBACK, "-port", str(stack.ports["epmd"])]
    )
    ctx.spawn(
        "mariadb",
        [
            shutil.which("mariadbd") or "mariadbd", "--no-defaults", f"--datadir={stack.path('mysql')}",
            "--user=root", f"--bind-address={LOOPBACK}", f"--port={stack.ports['db']}",
            f"--socket={stack.socket}", f"--pid-file={stack.path('data', 'mysqld.pid')}",
            f"--log-error={stack.path('log', 'mysqld.log')}", "--innodb-buffer-pool-size=128M",
            "--max-connections=500", "--skip-name-resolve", "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci", "--innodb-flush-log-at-trx-commit=2",
            "--innodb-log-file-size=32M",
        ],
    )  # fmt: skip
    ctx.server_logs.append(stack.path("log", "mysqld.log"))
    ctx.wait_until("epmd to listen", lambda: process.tcp_answers(stack.ports["epmd"]))
    ctx.spawn("rabbitmq", [str(RABBITMQ_BIN / "rabbitmq-server")], env=stack.rabbit_env)
    ctx.wait_until(
        "MariaDB to answer", lambda: stack.socket.exists() and process.tcp_answers(stack.ports["db"])
    )


def _await_rabbit(ctx: LaunchContext, stack: Stack) -> None:
    ctl = [str(RABBITMQ_BIN / "rabbitmqctl"), "-q"]

    def up() -> bool:
        # await_startup fails at once while the node has not registered yet
        try:
            ctx.run("rabbitmq-wait", [*ctl, "await_startup"], env=stack.rabbit_env, timeout=60)
        except CannotRun as error:
            if "crashed" in str(error) or "did not finish" in str(error):
                raise
            return False
        return True

    ctx.wait_until("RabbitMQ to start", up, interval=0.5)


def _start_services(ctx: LaunchContext, stack: Stack) -> None:
    """Keystone must answer before this; the database schemas exist."""
    ports = stack.ports
    etc = stack.path("etc")
    env = {"OS_PLACEMENT_CONFIG_DIR": str(etc / "placement")}
    ctx.spawn("placement", _uwsgi(stack, "placement", ports["placement"]), env=env)
    ctx.spawn(
        "glance-api",
        [str(stack.path("bin/glance-api")), "--config-file", str(etc / "glance/glance-api.conf")],
    )
    ctx.spawn(
        "neutron-server",
        [str(stack.path("bin/neutron-server")), "--config-file", str(etc / "neutron/neutron.conf")],
    )
    for name in ("nova-api", "nova-conductor", "nova-scheduler"):
        ctx.spawn(name, [str(stack.path("bin", name)), "--config-file", str(etc / "nova/nova.conf")])
    for name in ("cinder-api", "cinder-scheduler", "cinder-volume"):
        ctx.spawn(name, [str(stack.path("bin", name)), "--config-file", str(etc / "cinder/cinder.conf")])
    ctx.wait_http(f"http://{LOOPBACK}:{ports['placement']}/")
    ctx.spawn(
        "nova-compute",
        [str(stack.path("bin/nova-compute")), "--config-file", str(etc / "nova/nova-cpu.conf")],
    )
    ctx.wait_http(f"http://{LOOPBACK}:{ports['neutron']}/")
    ctx.run(
        "ovs-agent-report",
        [
            DEBIAN_PYTHON,
            str(_RECIPE / "ovs_agent_report.py"),
            "--config-file",
            str(etc / "neutron/neutron.conf"),
            _HOST,
        ],
        timeout=90,
    )
    for service in ("glance", "nova", "cinder"):
        ctx.wait_http(f"http://{LOOPBACK}:{ports[service]}/")


def _start_ec2api(ctx: LaunchContext, stack: Stack) -> None:
    ctx.spawn(
        "ec2-api", [str(venv() / "bin/ec2-api"), "--config-file", str(stack.path("etc/ec2api/ec2api.conf"))]
    )
    ctx.server_logs.append(stack.path("log", "ec2-api.log"))
    ctx.wait_http(f"http://{LOOPBACK}:{stack.ec2_port}/")


def _wait_compute(ctx: LaunchContext, stack: Stack, since: float) -> None:
    """nova-compute is up once its service heartbeat is newer than ``since``."""
    query = (
        "SET time_zone='+00:00'; SELECT COUNT(*) FROM nova.services WHERE `binary`='nova-compute' "
        f"AND deleted=0 AND updated_at >= FROM_UNIXTIME({int(since)}) - INTERVAL 2 SECOND"
    )
    ctx.wait_until(
        "nova-compute to report in",
        lambda: _count(_sql(ctx, stack, "nova-compute-wait", query)) >= 1,
        interval=0.5,
    )


def _count(output: str) -> int:
    lines = output.split()
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0


# ---- provisioning from nothing ----------------------------------------------------------------


def _provision(ctx: LaunchContext, stack: Stack) -> dict[str, str]:
    """A new stack in ``stack.base``: databases, schemas, users, network, flavors, image; started."""
    stack.write_configs()
    mysql = stack.path("mysql")
    ctx.run(
        "mariadb-install-db",
        [
            shutil.which("mariadb-install-db") or "mariadb-install-db", "--no-defaults", f"--datadir={mysql}",
            "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db",
        ],
    )  # fmt: skip
    _start_base(ctx, stack)
    grants = "".join(
        f"CREATE USER 'stack'@'{host}' IDENTIFIED BY 'stackdb'; "
        f"GRANT ALL PRIVILEGES ON *.* TO 'stack'@'{host}';"
        for host in ("127.0.0.1", "localhost")
    )
    _sql(ctx, stack, "databases", grants + "".join(f"CREATE DATABASE {db};" for db in DATABASES))

    keystone = [
        str(stack.path("bin/keystone-manage")),
        "--config-file",
        str(stack.path("etc/keystone/keystone.conf")),
    ]
    ctx.run("keystone-db-sync", [*keystone, "db_sync"])
    ctx.run(
        "keystone-fernet-setup",
        [*keystone, "fernet_setup", "--keystone-user", "root", "--keystone-group", "root"],
    )
    ctx.run(
        "keystone-credential-setup",
        [*keystone, "credential_setup", "--keystone-user", "root", "--keystone-group", "root"],
    )
    ctx.run(
        "keystone-bootstrap",
        [
            *keystone, "bootstrap", "--bootstrap-password", "adminpass",
            "--bootstrap-admin-url", f"{stack.keystone}/",
            "--bootstrap-internal-url", f"{stack.keystone}/", "--bootstrap-public-url", f"{stack.keystone}/",
            "--bootstrap-region-id", REGION,
        ],
    )  # fmt: skip
    ctx.spawn(
        "keystone",
        _uwsgi(stack, "keystone", stack.ports["keystone"]),
        env={"OS_KEYSTONE_CONFIG_FILES": str(stack.path("etc/keystone/keystone.conf"))},
    )
    _schemas(ctx, stack)
    ctx.wait_http(stack.keystone)
    catalogue = dict(stack.ports, ec2=stack.ec2_port)
    raw = ctx.run(
        "keystone-users",
        [DEBIAN_PYTHON, str(_RECIPE / "keystone_setup.py"), stack.keystone, json.dumps(catalogue)],
    )
    credentials = json.loads(raw.strip().splitlines()[-1])
    _await_rabbit(ctx, stack)
    ctl = str(RABBITMQ_BIN / "rabbitmqctl")
    ctx.run("rabbitmq-user", [ctl, "-q", "add_user", "stack", "stackmq"], env=stack.rabbit_env)
    ctx.run("rabbitmq-user", [ctl, "-q", "set_permissions", "stack", ".*", ".*", ".*"], env=stack.rabbit_env)

    since = time.time()
    _start_services(ctx, stack)
    ctx.run("cloud-resources", [DEBIAN_PYTHON, str(_RECIPE / "cloud_resources.py"), stack.keystone])
    ctx.wait_until(
        "the compute node record",
        lambda: (
            _count(
                _sql(
                    ctx, stack, "compute-node-wait", "SELECT COUNT(*) FROM nova.compute_nodes WHERE deleted=0"
                )
            )
            >= 1
        ),
        interval=0.5,
    )
    nova_manage = [str(stack.path("bin/nova-manage")), "--config-file", str(stack.path("etc/nova/nova.conf"))]
    ctx.run("nova-discover-hosts", [*nova_manage, "cell_v2", "discover_hosts"])
    _wait_compute(ctx, stack, since)
    return {str(key): str(value) for key, value in credentials.items()}


def _schemas(ctx: LaunchContext, stack: Stack) -> None:
    """Every service's schema; one step at a time (2 cores are the norm where this runs)."""
    etc = stack.path("etc")
    bin_ = stack.path("bin")
    ctx.run(
        "placement-db-sync",
        [
            str(bin_ / "placement-manage"),
            "--config-file",
            str(etc / "placement/placement.conf"),
            "db",
            "sync",
        ],
    )
    ctx.run(
        "glance-db-sync",
        [str(bin_ / "glance-manage"), "--config-file", str(etc / "glance/glance-api.conf"), "db_sync"],
    )
    ctx.run(
        "neutron-db-upgrade",
        [
            str(bin_ / "neutron-db-manage"),
            "--config-file",
            str(etc / "neutron/neutron.conf"),
            "upgrade",
            "head",
        ],
    )
    ctx.run(
        "cinder-db-sync",
        [str(bin_ / "cinder-manage"), "--config-file", str(etc / "cinder/cinder.conf"), "db", "sync"],
    )
    ctx.run(
        "ec2api-db-sync",
        [str(venv() / "bin/ec2-api-manage"), "--config-file", str(etc / "ec2api/ec2api.conf"), "db_sync"],
    )
    nova = [str(bin_ / "nova-manage"), "--config-file", str(etc / "nova/nova.conf")]
    ctx.run("nova-api-db-sync", [*nova, "api_db", "sync"])
    ctx.run(
        "nova-map-cell0",
        [*nova, "cell_v2", "map_cell0", "--database_connection", f"{stack.db_url}/nova_cell0"],
    )
    ctx.run("nova-create-cell", [*nova, "cell_v2", "create_cell", "--name=cell1"])
    ctx.run("nova-db-sync", [*nova, "db", "sync"])


# ---- pristine copy ----------------------------------------------------------------------------

_PRISTINE_KEEP = ("mysql", "data")
_MANIFEST = "pristine.json"


@contextmanager
def _pristine_lock() -> Iterator[None]:
    home().mkdir(parents=True, exist_ok=True)
    with (home() / "pristine.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_manifest() -> dict[str, object] | None:
    try:
        manifest = json.loads((pristine_dir() / _MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("recipe") != RECIPE_VERSION:
        return None
    return manifest


def pristine_ready() -> bool:
    """Whether a pristine copy of this recipe exists, so a start takes seconds instead of minutes."""
    return _read_manifest() is not None


def _save_pristine(stack: Stack, credentials: dict[str, str]) -> None:
    """Copy the stopped stack's state (database files, queue, keys, images) as the pristine copy."""
    target = pristine_dir()
    partial = target.with_name("pristine.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for keep in _PRISTINE_KEEP:
        shutil.copytree(stack.path(keep), partial / keep, symlinks=True)
    manifest = {
        "recipe": RECIPE_VERSION,
        "ports": stack.ports,
        "credentials": credentials,
        "base": str(stack.base),
    }
    (partial / _MANIFEST).write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def _restore(ctx: LaunchContext, stack: Stack, old_base: str) -> None:
    for keep in _PRISTINE_KEEP:
        shutil.copytree(pristine_dir() / keep, stack.path(keep), symlinks=True)
    stack.write_configs()
    _start_base(ctx, stack)
    # Glance remembers where it stored the image file: the pristine copy's directory.
    old = f"file://{old_base}/"
    new = f"file://{stack.base}/"
    _sql(
        ctx,
        stack,
        "glance-image-paths",
        f"UPDATE glance.image_locations SET value=REPLACE(value, '{old}', '{new}');",
    )
    ctx.spawn(
        "keystone",
        _uwsgi(stack, "keystone", stack.ports["keystone"]),
        env={"OS_KEYSTONE_CONFIG_FILES": str(stack.path("etc/keystone/keystone.conf"))},
    )
    _await_rabbit(ctx, stack)
    ctx.wait_http(stack.keystone)
    since = time.time()
    _start_services(ctx, stack)
    _wait_compute(ctx, stack, since)


def _stop_all(ctx: LaunchContext) -> None:
    survivors = process.stop_sessions([proc.pid for _, proc in ctx.processes], grace=60.0)
    if survivors:
        raise CannotRun(
            f"{NAME} could not be stopped after provisioning: processes {survivors} survive SIGKILL."
        )
    ctx.processes.clear()
    ctx.server_logs.clear()


def _socket_dir(base: Path) -> Path:
    run = base / "run"
    if len(str(run / "mysqld.sock")) <= _MAX_SOCKET_PATH:
        run.mkdir(parents=True, exist_ok=True)
        return run
    short = Path(tempfile.mkdtemp(prefix="cd-os-ec2-"))
    run.symlink_to(short, target_is_directory=True)
    return short


def _choose_ports() -> dict[str, int]:
    """A block of free ports below the ephemeral range, so a client's outgoing connection never takes
    one of them before a later start from the pristine copy needs it again."""
    names = (*PORT_NAMES, "metadata")
    rng = random.Random()
    for _ in range(200):
        first = rng.randrange(_PORT_RANGE[0], _PORT_RANGE[1] - len(names))
        block = {name: first + index for index, name in enumerate(names)}
        if _ports_free(block):
            for port in block.values():
                process.claim_port(port)
            return block
    raise CannotRun(f"{NAME} cannot start: found no {len(names)} free consecutive ports in {_PORT_RANGE}.")


def _ports_free(ports: dict[str, int]) -> bool:
    return all(_nobody_listens(port) for port in ports.values())


def _nobody_listens(port: int) -> bool:
    """Whether ``port`` can be bound by a server (which sets SO_REUSEADDR, as all of the stack's do).

    A plain bind fails for a minute after the previous run stopped, while its closed connections are
    in TIME_WAIT; that must not count as taken, or every quick restart would provision anew.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _launch(ctx: LaunchContext) -> RunningCandidate:
    ec2_port = ctx.main_port()
    socket_dir = _socket_dir(ctx.data_dir)
    try:
        return _launch_in(ctx, ec2_port, socket_dir)
    except BaseException:
        # A failed start gets no cleanup call: remove the short socket directory here.
        if socket_dir != ctx.data_dir / "run":
            shutil.rmtree(socket_dir, ignore_errors=True)
        raise


def _launch_in(ctx: LaunchContext, ec2_port: int, socket_dir: Path) -> RunningCandidate:
    with _pristine_lock():
        manifest = _read_manifest()
        ports = manifest.get("ports") if manifest else None
        if isinstance(ports, dict) and _ports_free(ports):
            for port in ports.values():
                process.claim_port(int(port))
            ctx.ports.extend(int(port) for port in ports.values())
            stack = Stack(ctx.data_dir, {str(k): int(v) for k, v in ports.items()}, ec2_port, socket_dir)
            credentials = manifest["credentials"] if manifest else {}
        else:
            fresh = _choose_ports()
            ctx.ports.extend(fresh.values())
            provisioning = Stack(ctx.data_dir / "provision", fresh, ec2_port, socket_dir)
            provisioning.base.mkdir(parents=True)
            credentials = _provision(ctx, provisioning)
            _stop_all(ctx)
            _save_pristine(provisioning, credentials)
            shutil.rmtree(provisioning.base, ignore_errors=True)
            (socket_dir / "mysqld.sock").unlink(missing_ok=True)
            stack = Stack(ctx.data_dir, fresh, ec2_port, socket_dir)
            manifest = _read_manifest()
        old_base = str(manifest["base"]) if manifest else ""
        _restore(ctx, stack, old_base)
    _start_ec2api(ctx, stack)
    assert isinstance(credentials, dict)
    endpoint = f"http://{LOOPBACK}:{ec2_port}"
    running = ctx.running(
        endpoint=endpoint, access_key=str(credentials["access"]), secret_key=str(credentials["secret"])
    )
    return replace(running, region=REGION)


def _cleanup(candidate: RunningCandidate) -> None:
    """Remove the short socket directory a long run directory needed."""
    run = candidate.base_dir / "run"
    if run.is_symlink():
        shutil.rmtree(run.resolve(), ignore_errors=True)


OPENSTACK_EC2 = CandidateSpec(
    name=NAME,
    services=("ec2",),
    description=f"OpenStack's EC2 API (ec2-api {EC2_API_VERSION}) over Keystone, Nova (fake driver), "
    "Neutron, Glance and Cinder from Debian 12",
    launch=_launch,
    check_installed=_installed,
    # Provisioning from nothing takes minutes on two cores; a start from the pristine copy ~30 s.
    start_timeout=900.0,
    auth="signature",
    cleanup=_cleanup,
    stop_grace=60.0,
)
