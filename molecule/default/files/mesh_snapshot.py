"""Print this server's mesh state as JSON: each WireGuard interface's ifindex, addresses, public key and
peers (public keys only), the wg-quick units' start times (unix time, this server's clock) and /etc/hosts.

Runs on a lab server (as root) during the molecule side effect; the verify step compares snapshots."""

import json
import subprocess
import time


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def unit_start(interface):
    """Unix time at which wg-quick@interface became active on this boot, or None."""
    value = run("systemctl", "show", "--value", "-p", "ActiveEnterTimestampMonotonic", "wg-quick@%s.service" % interface)
    monotonic_us = int(value.strip() or 0)
    if not monotonic_us:
        return None
    return time.time() - time.monotonic() + monotonic_us / 1e6


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
with open("/etc/hosts") as hosts:
    hosts_text = hosts.read()
print(json.dumps({
    "time": time.time(),
    "boot_id": open("/proc/sys/kernel/random/boot_id").read().strip(),
    "interfaces": interfaces,
    "hosts": hosts_text,
}, sort_keys=True))
