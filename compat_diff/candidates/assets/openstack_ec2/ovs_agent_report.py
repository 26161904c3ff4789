"""Report one pretend Open vSwitch agent to neutron-server over RPC, then exit.

ML2's openvswitch driver binds ports only on hosts with a live OVS agent. There is no OVS here (nova
runs the fake virt driver), so this reports the agent's state once, as neutron-openvswitch-agent
would; neutron.conf's agent_down_time keeps the agent "alive" afterwards.
Run with Debian's python3: ovs_agent_report.py --config-file neutron.conf HOST
"""

import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

from neutron.agent import rpc as agent_rpc  # noqa: E402
from neutron.api.rpc.callbacks import resources  # noqa: E402
from neutron.common import config as common_config  # noqa: E402
from neutron.conf.agent import common as agent_conf  # noqa: E402
from neutron_lib import constants, context  # noqa: E402
from neutron_lib.agent import topics  # noqa: E402
from oslo_config import cfg  # noqa: E402

# also sets control_exchange = neutron; without it the report goes to another exchange and times out
common_config.register_common_config_options()
agent_conf.register_agent_state_opts_helper(cfg.CONF)
host = sys.argv[-1]
common_config.init(sys.argv[1:-1])
state = {
    "binary": constants.AGENT_PROCESS_OVS,
    "host": host,
    "topic": constants.L2_AGENT_TOPIC,
    "agent_type": constants.AGENT_TYPE_OVS,
    "start_flag": True,
    "resource_versions": resources.LOCAL_RESOURCE_VERSIONS,
    "configurations": {
        "bridge_mappings": {"public": "br-ex"},
        "integration_bridge": "br-int",
        "tunnel_types": ["vxlan"],
        "tunneling_ip": "127.0.0.1",
        "l2_population": False,
        "arp_responder_enabled": False,
        "enable_distributed_routing": False,
        "log_agent_heartbeats": False,
        "extensions": [],
        "datapath_type": "system",
        "ovs_capabilities": {
            "datapath_types": ["system"],
            "iface_types": ["internal", "vxlan", "patch", "system"],
        },
        "vhostuser_socket_dir": "/var/run/openvswitch",
        "ovs_hybrid_plug": False,
        "baremetal_smartnic": False,
    },
}
api = agent_rpc.PluginReportStateAPI(topics.REPORTS)
print(api.report_state(context.get_admin_context_without_session(), state, use_call=True))
