"""Print this server's mesh state as JSON: each WireGuard interface's ifindex, addresses, public key and
peers (public keys only), each peer's endpoint, last handshake and bytes moved (the evidence when a ping is
lost: which side had which session when), the wg-quick units' start times (unix time, this server's clock),
/etc/hosts, and the kernel's drop counters (each link's errors and drops, /proc/net/snmp's IP, ICMP and UDP counters,
connection tracking's: a datagram this kernel dropped counts there, so two snapshots around a lost ping tell which side
dropped it).
No private or preshared key is read: `wg show <if> dump` would print them.

Runs on a lab server (as root) during the molecule side effect; the verify step compares snapshots."""

import json
import subprocess
import time


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def boot_time():
    """Unix time of this boot, in whole seconds, as the kernel keeps it (/proc/stat btime): the same in every
    snapshot of one boot, where time.time() - time.monotonic() moves by microseconds from one read to the next."""
    with open("/proc/stat", encoding="ascii") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("btime "))


def unit_start(interface):
    """Unix time at which wg-quick@interface became active on this boot (to the second the boot time has), or None."""
    value = run("systemctl", "show", "--value", "-p", "ActiveEnterTimestampMonotonic", "wg-quick@%s.service" % interface)
    monotonic_us = int(value.strip() or 0)
    if not monotonic_us:
        return None
    return boot_time() + monotonic_us / 1e6


def peer_state(interface):
    """Per peer public key: its endpoint, the unix time of its last handshake (0: none) and bytes received/sent."""
    state = {}
    for line in run("wg", "show", interface, "endpoints").splitlines():
        peer, endpoint = line.split("\t")
        state[peer] = {"endpoint": endpoint}
    for line in run("wg", "show", interface, "latest-handshakes").splitlines():
        peer, seconds = line.split("\t")
        state.setdefault(peer, {})["latest_handshake"] = int(seconds)
    for line in run("wg", "show", interface, "transfer").splitlines():
        peer, received, sent = line.split("\t")
        state.setdefault(peer, {}).update(rx_bytes=int(received), tx_bytes=int(sent))
    return state


def links_dropped():
    """Per link (the uplink and the tunnels): its receive and send errors and drops since boot."""
    dropped = {}
    for link in json.loads(run("ip", "-j", "-s", "link", "show")):
        stats = link.get("stats64", {})
        dropped[link["ifname"]] = dict(("%s_%s" % (way, what), stats.get(way, {}).get(what))
                                       for way in ("rx", "tx") for what in ("errors", "dropped"))
    return dropped


def snmp_counters():
    """/proc/net/snmp: per protocol (Ip, Icmp, Udp, ...), its counters since boot."""
    with open("/proc/net/snmp") as stream:
        lines = stream.read().splitlines()
    counters = {}
    for names, values in zip(lines[::2], lines[1::2]):
        protocol, names = names.split(":", 1)
        counters[protocol] = dict(zip(names.split(), (int(value) for value in values.split(":", 1)[1].split())))
    return counters


def conntrack_counters():
    """/proc/net/stat/nf_conntrack summed over the CPUs, or None where connection tracking is not loaded: insert_failed
    and drop count the packets a clash of new entries dropped (../files/probe.sh tells when that happens to pings)."""
    try:
        with open("/proc/net/stat/nf_conntrack") as stream:
            lines = stream.read().splitlines()
    except FileNotFoundError:
        return None
    names = lines[0].split()
    return dict((name, sum(int(line.split()[column], 16) for line in lines[1:])) for column, name in enumerate(names)
                if name != "entries")


interfaces = {}
for link in json.loads(run("ip", "-j", "address", "show", "type", "wireguard")):
    name = link["ifname"]
    interfaces[name] = {
        "ifindex": link["ifindex"],
        "addresses": ["%s/%s" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", []) if a["family"] == "inet"],
        "public_key": run("wg", "show", name, "public-key").strip(),
        "peers": sorted(run("wg", "show", name, "peers").split()),
        "unit_active_since": unit_start(name),
    }
# Apart from the interfaces: the verify step compares those between snapshots, and these numbers always move.
peer_states = {name: peer_state(name) for name in interfaces}
with open("/etc/hosts") as hosts:
    hosts_text = hosts.read()
print(json.dumps({
    "time": time.time(),
    "boot_id": open("/proc/sys/kernel/random/boot_id").read().strip(),
    "interfaces": interfaces,
    "peer_states": peer_states,
    "hosts": hosts_text,
    "links_dropped": links_dropped(),
    "snmp": snmp_counters(),
    "conntrack": conntrack_counters(),
}, sort_keys=True))
