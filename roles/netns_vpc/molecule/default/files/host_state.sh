#!/bin/sh
# What a removal must leave exactly as it was, printed so that it compares across a reboot: the links (one line
# each, sorted, without their indices, random MACs, bridge timers and namespace ids, which a boot renumbers), the
# routes, the namespaces, iptables (nft and legacy backends) and the nft ruleset (chains sorted) without their counters, IPv4
# forwarding and whether /run/netns is a mount point.
set -u
echo "== ip -d link"
ip -d -o link | sed -E 's/^[0-9]+: //; s/@if[0-9]+//; s/\b([a-z_]+_timer) +[0-9.]+/\1/g; s/link-netnsid [0-9]+/link-netnsid/;
    s/\b[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}\b/MAC/g' | sort
echo "== ip route"
ip route
echo "== ip netns"
ip netns | sed -E 's/ \(id: [0-9]+\)//' | sort
echo "== iptables-nft-save"
iptables-nft-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
echo "== iptables-legacy-save"
iptables-legacy-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
echo "== nft list ruleset"
# nft lists a table's chains in the order they were created, which a boot's rebuild need not repeat: sorted here.
sort_chains='
import sys
tables, body = [], None
for line in sys.stdin.read().splitlines():
    if body is None:
        print(line)
        if line.startswith("table "):
            body = []
    elif line == "}":
        blocks = []
        for entry in body:
            if entry.startswith("\t") and not entry.startswith("\t\t") and entry.endswith("{"):
                blocks.append([entry])
            elif entry and blocks:
                blocks[-1].append(entry)
        print("\n\n".join("\n".join(block) for block in sorted(blocks)))
        print(line)
        body = None
    else:
        body.append(line)
'
nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' | python3 -c "$sort_chains"
echo "== ip_forward"
cat /proc/sys/net/ipv4/ip_forward
echo "== /run/netns"
findmnt /run/netns || echo /run/netns is no mount point
