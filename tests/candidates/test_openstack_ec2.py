"""The openstack-ec2 launcher's own logic, without starting the stack: its config files, its choice of
ports, the pristine copy's manifest and what it says when something is missing. The stack itself is
started by the live tests (test_candidates.py, test_ec2_candidates_live.py, the SigV2 live test).
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from compat_diff.candidates import CANDIDATES, installed, openstack_ec2
from compat_diff.candidates.openstack_ec2 import PORT_NAMES, Stack

PORTS = {name: 25000 + index for index, name in enumerate((*PORT_NAMES, "metadata"))}


def _stack(tmp_path: Path) -> Stack:
    stack = Stack(tmp_path / "stack", dict(PORTS), 41000, tmp_path / "run")
    stack.write_configs()
    return stack


def _ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.read_string(path.read_text())
    return parser


def test_configs_use_the_stack_directory_and_its_ports_only(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    ec2api = _ini(stack.path("etc/ec2api/ec2api.conf"))
    assert ec2api["DEFAULT"]["ec2api_listen"] == "127.0.0.1"
    assert ec2api["DEFAULT"]["ec2api_listen_port"] == "41000"
    assert (
        ec2api["DEFAULT"]["keystone_ec2_tokens_url"] == f"http://127.0.0.1:{PORTS['keystone']}/v3/ec2tokens"
    )
    nova = _ini(stack.path("etc/nova/nova.conf"))
    assert nova["DEFAULT"]["transport_url"] == f"rabbit://stack:stackmq@127.0.0.1:{PORTS['mq']}/"
    assert nova["database"]["connection"].endswith(f"@127.0.0.1:{PORTS['db']}/nova")
    assert nova["service_user"]["send_service_user_token"] == "true"
    # nova-compute refuses to start when it sees database settings
    compute = _ini(stack.path("etc/nova/nova-cpu.conf"))
    assert "database" not in compute and "api_database" not in compute
    for conf in stack.path("etc").rglob("*.conf"):
        text = conf.read_text()
        assert "0.0.0.0" not in text, conf
        for line in text.splitlines():
            if "/" in line and "=" in line and line.split("=", 1)[1].strip().startswith("/"):
                assert line.split("=", 1)[1].strip().startswith(str(stack.base)), (conf, line)
    assert stack.rabbit_env["RABBITMQ_NODE_IP_ADDRESS"] == "127.0.0.1"
    assert stack.rabbit_env["ERL_EPMD_PORT"] == str(PORTS["epmd"])


def test_every_service_wrapper_runs_debians_python(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    for wrapper in ("nova-api", "neutron-server", "keystone-manage", "cinder-volume", "glance-api"):
        script = stack.path("bin", wrapper)
        assert script.read_text().startswith("#!/usr/bin/python3\n")
        assert script.stat().st_mode & 0o111


def test_chosen_ports_are_free_consecutive_and_below_the_ephemeral_range() -> None:
    ports = openstack_ec2._choose_ports()
    assert set(ports) == {*PORT_NAMES, "metadata"}
    values = sorted(ports.values())
    assert values == list(range(values[0], values[0] + len(values)))
    assert values[-1] < 32768
    assert openstack_ec2._ports_free(ports)


def test_a_pristine_copy_of_another_recipe_version_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPAT_DIFF_OPENSTACK_EC2_HOME", str(tmp_path))
    pristine = tmp_path / "pristine"
    pristine.mkdir()
    manifest = {"recipe": openstack_ec2.RECIPE_VERSION, "ports": PORTS, "credentials": {}, "base": "/x"}
    (pristine / "pristine.json").write_text(json.dumps(manifest))
    assert openstack_ec2._read_manifest() == manifest
    (pristine / "pristine.json").write_text(json.dumps({**manifest, "recipe": "0"}))
    assert openstack_ec2._read_manifest() is None
    (pristine / "pristine.json").write_text("{not json")
    assert openstack_ec2._read_manifest() is None


def test_a_missing_ec2_api_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPAT_DIFF_OPENSTACK_EC2_HOME", str(tmp_path / "nothing-here"))
    ok, reason = installed("openstack-ec2")
    assert not ok
    assert "install-candidates.sh" in reason
    assert CANDIDATES["openstack-ec2"].auth == "signature"
    assert CANDIDATES["openstack-ec2"].services == ("ec2",)


def test_a_failing_provisioning_step_is_named_with_its_exit_status_and_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import time

    from compat_diff.candidates.base import LaunchContext
    from compat_diff.errors import CannotRun

    which = shutil.which
    monkeypatch.setattr(
        openstack_ec2.shutil,
        "which",
        lambda name: "/bin/false" if name == "mariadb-install-db" else which(name),
    )
    ctx = LaunchContext(spec=CANDIDATES["openstack-ec2"], data_dir=tmp_path, deadline=time.monotonic() + 60)
    stack = Stack(tmp_path / "provision", dict(PORTS), 41000, tmp_path)
    stack.base.mkdir()
    with pytest.raises(CannotRun) as caught:
        openstack_ec2._provision(ctx, stack)
    message = str(caught.value)
    assert "openstack-ec2 did not start: set-up step 'mariadb-install-db' exited with status 1" in message
    assert str(tmp_path / "log" / "mariadb-install-db.log") in message
    assert ctx.processes == [], "nothing was started before the failing step"
