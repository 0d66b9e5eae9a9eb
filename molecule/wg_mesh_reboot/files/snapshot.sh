#!/bin/sh
# What this scenario records of a server, as YAML: its boot, the probe package's version, a pending reboot,
# and a digest of everything the role or the upgrade may change (hosts file, cloud-init's hosts templates,
# apt's index, WireGuard files and interfaces). Usage: snapshot.sh PROBE_PACKAGE
set -eu
probe=${1:?usage: snapshot.sh PROBE_PACKAGE}
echo "boot_id: $(cat /proc/sys/kernel/random/boot_id)"
echo "probe_version: '$(dpkg-query -W -f='${Version}' "$probe")'"
if [ -e /run/reboot-required ]; then echo "reboot_required: true"; else echo "reboot_required: false"; fi
echo "files: |"
{
    sha256sum /etc/hosts /etc/cloud/templates/hosts.*.tmpl
    ls -l --time-style=+%s /var/lib/apt/lists/
    ls -l --time-style=+%s /etc/wireguard/
    ip -o link show type wireguard
} | sed 's/^/  /'
