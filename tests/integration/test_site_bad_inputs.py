# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs to site.yml, one table for every role site.yml runs: each is refused in the validation play, by a
message that names the host (or service) and the variable, and nothing changes anywhere.

One converged mesh of three simulated servers for the module. Its state is snapshotted once: every server's
`ip -d link`, addresses, WireGuard peers, files under /etc/wireguard, /etc/hosts and `iptables-save`, and the
controller's key directory and the directory around it (where a fresh key directory would appear). Then every
bad input is one ansible-playbook run (a few at a time: each fails in the validation play within seconds), and
the state must be the snapshot again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.mesh import converged_mesh, stable_dump
from support.paths import SITE
from support.playbook import run_playbook

pytestmark = [pytest.mark.root, pytest.mark.wireguard]

VALIDATION_PLAY = "PLAY [Validate the whole VPC before changing anything]"
BUILD_PLAY = "PLAY [Build the fake VPC]"
PARALLEL_RUNS = 4
ALL = ("vpc1", "vpc2", "vpc3")
LONG_DOMAIN = ".".join(["d" * 63] * 4)  # 255 characters
FILLED_DOMAIN = ".".join(["d" * 63] * 3) + ".dd"  # 194 characters: server1.<it> fits, a 63-character name does not


def everywhere(**variables):
    """The same variables on every host (as group or extra variables would set them)."""
    return {host: dict(variables) for host in ALL}


def service(**fields):
    return dict({"name": "myecho", "port": 8888, "servers": ["vpc2"]}, **fields)


def services(*listed):
    return everywhere(vpc_service_services=list(listed))


# (case id, overrides {host: {variable: value}}, who the message names, the variable it names)
BAD = [
    # wg_mesh_name
    ("name-trailing-newline", {"vpc2": {"wg_mesh_name": "srv\n"}}, "host 'vpc2'", "wg_mesh_name"),
    ("name-localhost", {"vpc2": {"wg_mesh_name": "localhost"}}, "host 'vpc2'", "wg_mesh_name"),
    ("name-localhost-dot", {"vpc2": {"wg_mesh_name": "localhost.vpcdomain"}}, "host 'vpc2'", "wg_mesh_name"),
    ("name-all-digits", {"vpc3": {"wg_mesh_name": "123"}}, "host 'vpc3'", "wg_mesh_name"),
    ("name-uppercase", {"vpc2": {"wg_mesh_name": "Bad_Name"}}, "host 'vpc2'", "wg_mesh_name"),
    ("name-twice", {"vpc2": {"wg_mesh_name": "server1"}}, "host 'vpc2'", "wg_mesh_name"),
    ("name-fqdn-past-253", dict(everywhere(wg_mesh_domain=FILLED_DOMAIN), vpc2={"wg_mesh_domain": FILLED_DOMAIN,
                                                                                "wg_mesh_name": "n" * 63}),
     "host 'vpc2'", "wg_mesh_name"),
    # wg_mesh_domain
    ("domain-trailing-newline", everywhere(wg_mesh_domain="vpcdomain\n"), "host 'vpc1'", "wg_mesh_domain"),
    ("domain-255-characters", everywhere(wg_mesh_domain=LONG_DOMAIN), "host 'vpc1'", "wg_mesh_domain"),
    ("domain-all-digit-label", everywhere(wg_mesh_domain="vpc.123"), "host 'vpc1'", "wg_mesh_domain"),
    ("domain-localhost", everywhere(wg_mesh_domain="localhost"), "host 'vpc1'", "wg_mesh_domain"),
    ("domain-uppercase", everywhere(wg_mesh_domain="VPC"), "host 'vpc1'", "wg_mesh_domain"),
    ("domain-differs-on-one-host", {"vpc3": {"wg_mesh_domain": "other"}}, "host 'vpc3'", "wg_mesh_domain"),
    # wg_mesh_iface_prefix
    ("prefix-trailing-newline", everywhere(wg_mesh_iface_prefix="wgvpc\n"), "host 'vpc1'", "wg_mesh_iface_prefix"),
    ("prefix-too-long", everywhere(wg_mesh_iface_prefix="averylongname"), "host 'vpc1'", "wg_mesh_iface_prefix"),
    ("prefix-differs-on-one-host", {"vpc2": {"wg_mesh_iface_prefix": "wg"}}, "host 'vpc2'", "wg_mesh_iface_prefix"),
    # wg_mesh_endpoint
    ("endpoint-zero-padded", {"vpc1": {"wg_mesh_endpoint": "10.213.0.010"}}, "host 'vpc1'", "wg_mesh_endpoint"),
    ("endpoint-octal-first-octet", {"vpc1": {"wg_mesh_endpoint": "010.213.0.1"}}, "host 'vpc1'", "wg_mesh_endpoint"),
    ("endpoint-three-numbers", {"vpc2": {"wg_mesh_endpoint": "10.213.2"}}, "host 'vpc2'", "wg_mesh_endpoint"),
    ("endpoint-trailing-newline", {"vpc2": {"wg_mesh_endpoint": "10.213.0.2\n"}}, "host 'vpc2'", "wg_mesh_endpoint"),
    ("endpoint-name-trailing-newline", {"vpc1": {"wg_mesh_endpoint": "vpc1.example.com\n"}}, "host 'vpc1'",
     "wg_mesh_endpoint"),
    ("endpoint-unspecified-v4", {"vpc1": {"wg_mesh_endpoint": "0.0.0.0"}}, "host 'vpc1'", "wg_mesh_endpoint"),
    ("endpoint-unspecified-v6", {"vpc1": {"wg_mesh_endpoint": "::"}}, "host 'vpc1'", "wg_mesh_endpoint"),
    ("endpoint-loopback", {"vpc2": {"wg_mesh_endpoint": "127.0.0.1"}}, "host 'vpc2'", "wg_mesh_endpoint"),
    ("endpoint-multicast", {"vpc2": {"wg_mesh_endpoint": "224.0.0.1"}}, "host 'vpc2'", "wg_mesh_endpoint"),
    ("endpoint-localhost", {"vpc1": {"wg_mesh_endpoint": "localhost"}}, "host 'vpc1'", "wg_mesh_endpoint"),
    ("endpoint-same-but-case", {"vpc1": {"wg_mesh_endpoint": "web1.example.com", "wg_mesh_port": 51820},
                                "vpc2": {"wg_mesh_endpoint": "Web1.example.com", "wg_mesh_port": 51820}},
     "host 'vpc2'", "wg_mesh_endpoint"),
    ("endpoint-from-ansible-host", {"vpc1": {"wg_mesh_endpoint": None, "ansible_host": "0x7f000001"}}, "host 'vpc1'",
     "wg_mesh_endpoint (from ansible_host)"),
    # wg_mesh_index
    ("index-superscript-two", {"vpc2": {"wg_mesh_index": "\u00b2"}}, "host 'vpc2'", "wg_mesh_index"),
    ("index-arabic-three", {"vpc3": {"wg_mesh_index": "\u0663"}}, "host 'vpc3'", "wg_mesh_index"),
    ("index-zero", {"vpc2": {"wg_mesh_index": 0}}, "host 'vpc2'", "wg_mesh_index"),
    ("index-255", {"vpc2": {"wg_mesh_index": 255}}, "host 'vpc2'", "wg_mesh_index"),
    ("index-twice", {"vpc3": {"wg_mesh_index": 1}}, "host 'vpc3'", "wg_mesh_index"),
    ("index-missing", {"vpc2": {"wg_mesh_index": None}}, "host 'vpc2'", "wg_mesh_index"),
    ("index-not-a-number", {"vpc2": {"wg_mesh_index": "two"}}, "host 'vpc2'", "wg_mesh_index"),
    # wg_mesh_port
    ("port-superscript-two", {"vpc1": {"wg_mesh_port": "\u00b2"}}, "host 'vpc1'", "wg_mesh_port"),
    ("port-zero", {"vpc1": {"wg_mesh_port": 0}}, "host 'vpc1'", "wg_mesh_port"),
    ("port-70000", {"vpc2": {"wg_mesh_port": 70000}}, "host 'vpc2'", "wg_mesh_port"),
    ("port-trailing-newline", {"vpc2": {"wg_mesh_port": "51820\n"}}, "host 'vpc2'", "wg_mesh_port"),
    # wg_mesh_mtu, on one host only: every host stops
    ("mtu-100", {"vpc2": {"wg_mesh_mtu": 100}}, "host 'vpc2'", "wg_mesh_mtu"),
    ("mtu-70000", {"vpc3": {"wg_mesh_mtu": 70000}}, "host 'vpc3'", "wg_mesh_mtu"),
    ("mtu-65536", {"vpc3": {"wg_mesh_mtu": 65536}}, "host 'vpc3'", "wg_mesh_mtu"),
    ("mtu-negative", {"vpc1": {"wg_mesh_mtu": -5}}, "host 'vpc1'", "wg_mesh_mtu"),
    ("mtu-abc", {"vpc2": {"wg_mesh_mtu": "abc"}}, "host 'vpc2'", "wg_mesh_mtu"),
    ("mtu-superscript-two", {"vpc2": {"wg_mesh_mtu": "\u00b2"}}, "host 'vpc2'", "wg_mesh_mtu"),
    ("mtu-arabic-digits", {"vpc2": {"wg_mesh_mtu": "\u0661\u0664\u0662\u0660"}}, "host 'vpc2'", "wg_mesh_mtu"),
    # wg_mesh_keepalive, wg_mesh_iface_ip_offset
    ("keepalive-negative", everywhere(wg_mesh_keepalive=-1), "host 'vpc1'", "wg_mesh_keepalive"),
    ("keepalive-65536", everywhere(wg_mesh_keepalive=65536), "host 'vpc1'", "wg_mesh_keepalive"),
    ("keepalive-arabic-three", everywhere(wg_mesh_keepalive="\u0663"), "host 'vpc1'", "wg_mesh_keepalive"),
    ("keepalive-differs-on-one-host", {"vpc2": {"wg_mesh_keepalive": 10}}, "host 'vpc2'", "wg_mesh_keepalive"),
    ("offset-256", everywhere(wg_mesh_iface_ip_offset=256), "host 'vpc1'", "wg_mesh_iface_ip_offset"),
    ("offset-past-255", everywhere(wg_mesh_iface_ip_offset=254), "host 'vpc3'", "wg_mesh_index"),
    # the other options of wg_mesh
    ("implementation-typo", {"vpc2": {"wg_mesh_implementation": "kernal"}}, "host 'vpc2'", "wg_mesh_implementation"),
    ("state-unknown", {"vpc3": {"wg_mesh_state": "gone"}}, "host 'vpc3'", "wg_mesh_state"),
    ("state-trailing-newline", {"vpc3": {"wg_mesh_state": "absent\n"}}, "host 'vpc3'", "wg_mesh_state"),
    ("group-unknown", {"vpc2": {"wg_mesh_group": "nosuchgroup"}}, "host 'vpc2'", "wg_mesh_group"),
    ("reboot-timeout-zero", {"vpc1": {"wg_mesh_upgrade_reboot_timeout": 0}}, "host 'vpc1'",
     "wg_mesh_upgrade_reboot_timeout"),
    ("manage-hosts-not-a-bool", {"vpc1": {"wg_mesh_manage_hosts": "perhaps"}}, "host 'vpc1'", "wg_mesh_manage_hosts"),
    ("config-dir-relative", {"vpc2": {"wg_mesh_config_dir": "etc/wireguard"}}, "host 'vpc2'", "wg_mesh_config_dir"),
    ("hosts-file-trailing-newline", {"vpc3": {"wg_mesh_hosts_file": "/etc/hosts\n"}}, "host 'vpc3'",
     "wg_mesh_hosts_file"),
    ("packages-an-option", {"vpc2": {"wg_mesh_packages": ["wireguard-tools", "--force-yes"]}}, "host 'vpc2'",
     "wg_mesh_packages"),
    # wg_mesh_aliases, wg_mesh_dialable, wg_mesh_relay (the fleet's per-host and mesh-wide variables)
    ("aliases-trailing-newline", {"vpc2": {"wg_mesh_aliases": ["db\n"]}}, "host 'vpc2'", "wg_mesh_aliases"),
    ("aliases-all-digits", {"vpc2": {"wg_mesh_aliases": ["123"]}}, "host 'vpc2'", "wg_mesh_aliases"),
    ("aliases-localhost", {"vpc3": {"wg_mesh_aliases": ["localhost"]}}, "host 'vpc3'", "wg_mesh_aliases"),
    ("aliases-uppercase", {"vpc3": {"wg_mesh_aliases": ["DB"]}}, "host 'vpc3'", "wg_mesh_aliases"),
    ("aliases-name-of-another", {"vpc2": {"wg_mesh_aliases": ["server1"]}}, "host 'vpc2'", "wg_mesh_aliases"),
    ("dialable-not-a-bool", {"vpc2": {"wg_mesh_dialable": "perhaps"}}, "host 'vpc2'", "wg_mesh_dialable"),
    ("dialable-nobody", everywhere(wg_mesh_dialable=False), "host 'vpc1'", "wg_mesh_dialable"),
    ("relay-control-character", everywhere(wg_mesh_relay="vpc1\x1b[2J"), "host 'vpc1'", "wg_mesh_relay"),
    ("relay-unknown", everywhere(wg_mesh_relay="nosuchhost"), "host 'vpc1'", "wg_mesh_relay"),
    ("relay-not-dialable",
     dict(everywhere(wg_mesh_relay="vpc2"), vpc2={"wg_mesh_relay": "vpc2", "wg_mesh_dialable": False}),
     "host 'vpc1'", "wg_mesh_relay"),
    ("relay-differs-on-one-host", {"vpc2": {"wg_mesh_relay": "vpc1"}}, "host 'vpc2'", "wg_mesh_relay"),
    # wg_mesh_external_peers: names, indices, ports and endpoints by the servers' rules
    ("external-name-trailing-newline", everywhere(wg_mesh_external_peers=[{"name": "laptop\n", "index": 9}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-name-all-digits", everywhere(wg_mesh_external_peers=[{"name": "123", "index": 9}]), "host 'vpc1'",
     "wg_mesh_external_peers"),
    ("external-name-localhost", everywhere(wg_mesh_external_peers=[{"name": "localhost", "index": 9}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-index-arabic-three", everywhere(wg_mesh_external_peers=[{"name": "laptop", "index": "\u0663"}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-index-of-a-server", everywhere(wg_mesh_external_peers=[{"name": "laptop", "index": 2}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-port-superscript-two",
     everywhere(wg_mesh_external_peers=[{"name": "laptop", "index": 9, "endpoint": "198.51.100.9", "port": "\u00b2"}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-endpoint-zero-padded",
     everywhere(wg_mesh_external_peers=[{"name": "laptop", "index": 9, "endpoint": "10.213.0.010"}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-endpoint-localhost",
     everywhere(wg_mesh_external_peers=[{"name": "laptop", "index": 9, "endpoint": "localhost"}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-endpoint-trailing-newline",
     everywhere(wg_mesh_external_peers=[{"name": "laptop", "index": 9, "endpoint": "laptop.example.org\n"}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-aliases-all-digits",
     everywhere(wg_mesh_external_peers=[{"name": "laptop", "index": 9, "aliases": ["42"]}]),
     "host 'vpc1'", "wg_mesh_external_peers"),
    ("external-differs-on-one-host", {"vpc3": {"wg_mesh_external_peers": [{"name": "laptop", "index": 9}]}},
     "host 'vpc3'", "wg_mesh_external_peers"),
    ("external-dir-trailing-newline", {"vpc2": {"wg_mesh_external_peers_dir": "/tmp/wg_external_peers\n"}},
     "host 'vpc2'", "wg_mesh_external_peers_dir"),
    # vpc_service: what its argument spec and its plan refuse
    ("service-port-zero", services(service(port=0)), "service 'myecho'", "vpc_service_services"),
    ("service-port-70000", services(service(port=70000)), "service 'myecho'", "vpc_service_services"),
    ("service-port-not-a-number", services(service(port="http")), "host 'vpc1'", "vpc_service_services"),
    ("service-port-superscript-two", services(service(port="\u00b2")), "host 'vpc1'", "vpc_service_services"),
    ("service-unknown-server", services(service(servers=["nosuchhost"])), "service 'myecho'", "vpc_service_services"),
    ("service-no-server", services(service(servers=[])), "service 'myecho'", "vpc_service_services"),
    ("service-bad-mode", services(service(mode="sockat")), "host 'vpc1'", "vpc_service_services"),
    ("service-bad-protocol", services(service(protocol="icmp")), "host 'vpc1'", "vpc_service_services"),
    ("service-bad-state", services(service(state="gone")), "host 'vpc1'", "vpc_service_services"),
    ("service-twice", services(service(), service(port=9999)), "service 'myecho'", "vpc_service_services"),
    ("service-same-port", services(service(), service(name="other")), "service 'other'", "vpc_service_services"),
    ("service-bad-name", services(service(name="My Echo")), "service #1", "vpc_service_services"),
    ("service-unknown-key", services(service(prot="udp")), "host 'vpc1'", "vpc_service_services"),
    ("service-default-mode", everywhere(vpc_service_mode="fast"), "host 'vpc1'", "vpc_service_mode"),
    ("service-install-not-a-bool", {"vpc3": {"vpc_service_install_packages": "perhaps"}}, "host 'vpc3'",
     "vpc_service_install_packages"),
]


def file_digest(path):
    info = os.lstat(path)
    content = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if stat.S_ISREG(info.st_mode) else None
    return (path.name, stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_mtime_ns, content)


def without_comments(text):
    """iptables-save's comment lines carry the time of the dump."""
    return [line for line in text.splitlines() if not line.startswith("#")]


def state(mesh):
    """Everything site.yml may change: on every server, and on the controller (the key directory and its parent)."""
    servers = {s.name: {"link": s.run(["ip", "-d", "link"]).stdout,
                        "address": s.run(["ip", "address"]).stdout,
                        "wg": stable_dump(s.run(["wg", "show", "all", "dump"], check=False).stdout),
                        "etc_wireguard": sorted(file_digest(path) for path in s.etc_wireguard.iterdir()),
                        "hosts": s.hosts_file.read_text(),
                        "iptables": without_comments(s.run(["iptables-save"]).stdout)}
               for s in mesh.net.servers}
    controller = {"key_dir": (stat.S_IMODE(os.stat(mesh.key_dir).st_mode),
                              sorted(file_digest(path) for path in mesh.key_dir.iterdir())),
                  "around_key_dir": sorted(path.name for path in mesh.key_dir.parent.iterdir()
                                           if not re.fullmatch(r"bad-.*\.json", path.name))}
    return {"servers": servers, "controller": controller}


def messages(output):
    """Every "msg" of the play's results (the json result format keeps each on one line)."""
    return [json.loads(found) for found in re.findall(r'"msg": ("(?:[^"\\]|\\.)*")', output)]


@pytest.fixture(scope="module")
def mesh(make_simnet_module, tmp_path_factory):
    return converged_mesh(make_simnet_module(3), tmp_path_factory.mktemp("bad-inputs"), verbose=0)


@pytest.fixture(scope="module")
def refused(mesh):
    """Run every bad input, a few at a time; returns ({case id: run}, state before, state after)."""
    before = state(mesh)
    workdir = mesh.key_dir.parent

    def run(case):
        case_id, overrides, dummy, dummy = case
        # A fresh key directory of its own: it must not be created either.
        overrides = {host: dict({"wg_mesh_key_dir": str(workdir / "bad-keys" / case_id)}, **overrides.get(host, {}))
                     for host in ALL}
        inventory = mesh.write_inventory(3, path=workdir / ("bad-%s.json" % case_id), **overrides)
        return case_id, run_playbook(SITE, inventory, verbose=0, env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        runs = dict(pool.map(run, BAD))
    print("\n%d bad inputs run in %.1f s, %d at a time (slowest run %.1f s)" % (
        len(runs), time.monotonic() - started, PARALLEL_RUNS, max(run.seconds for run in runs.values())))
    return runs, before, state(mesh)


def test_the_table_holds_every_class_of_bad_input():
    assert len(BAD) >= 45
    assert len({case_id for case_id, dummy, dummy, dummy in BAD}) == len(BAD)
    named = {variable.split()[0] for dummy, dummy, dummy, variable in BAD}
    for variable in ("wg_mesh_name", "wg_mesh_domain", "wg_mesh_iface_prefix", "wg_mesh_endpoint", "wg_mesh_index",
                     "wg_mesh_port", "wg_mesh_mtu", "wg_mesh_keepalive", "wg_mesh_iface_ip_offset",
                     "wg_mesh_implementation", "wg_mesh_state", "wg_mesh_group", "vpc_service_services",
                     "vpc_service_mode", "wg_mesh_aliases", "wg_mesh_dialable", "wg_mesh_relay",
                     "wg_mesh_external_peers", "wg_mesh_external_peers_dir"):
        assert variable in named


@pytest.mark.parametrize("case_id, overrides, who, variable", BAD, ids=[case[0] for case in BAD])
def test_bad_input_is_refused_in_the_validation_play_naming_host_and_variable(refused, case_id, overrides, who, variable):
    runs, dummy, dummy = refused
    failed = runs[case_id]
    assert failed.rc != 0, failed.describe()
    assert BUILD_PLAY not in failed.stdout, "the build play started:\n" + failed.describe()
    first_failure = failed.stdout.find("fatal: [")
    assert first_failure > 0, failed.describe()
    plays = re.findall(r"^PLAY \[.*\]", failed.stdout[:first_failure], re.MULTILINE)
    assert plays and plays[-1] == VALIDATION_PLAY, failed.describe()
    assert failed.changed() == 0, failed.describe()
    assert [msg for msg in messages(failed.stdout) if who in msg and variable in msg], failed.describe()


def test_nothing_changed_on_any_server_nor_on_the_controller(refused):
    dummy, before, after = refused
    assert after["controller"] == before["controller"]
    for name in before["servers"]:
        assert after["servers"][name] == before["servers"][name], name
