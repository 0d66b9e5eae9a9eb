#!/bin/sh
# mmdebstrap customize hook for the qemu lab's base image: runs on the host after the packages are
# installed, with the root filesystem as $1 (and the lab user's name as $2).
# Every boot-time cut measured for the lab lives here, each with the reason next to it.
set -eu
root="$1"
lab_user="$2"

# No password anywhere: identity (hostname, SSH key) comes at boot from qemu fw_cfg or cloud-init.
echo fakevpc-base > "$root/etc/hostname"
cat > "$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
# The kernel command line mounts the root read-write; an fstab entry would only make systemd wait for its
# device unit and fsck a throwaway overlay.
echo '# the root filesystem is mounted from the kernel command line' > "$root/etc/fstab"

# apt in the guest must never reach out: no sources and none of the host's apt settings.
rm -f "$root/etc/apt/apt.conf.d/99mmdebstrap" "$root"/etc/apt/sources.list.d/*
echo '# fakevpc lab image: no package sources; everything the lab needs is installed.' \
    > "$root/etc/apt/sources.list"

# Network: DHCP from qemu's user-mode network; no DNS (the lab needs none, and it would leave the host).
cat > "$root/etc/systemd/network/20-fakevpc-lab.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
UseDNS=no
UseDomains=no
EOF
: > "$root/etc/resolv.conf"

# SSH: an ed25519 host key only, made per VM at first boot (an RSA key costs ~44 s under TCG).
rm -f "$root"/etc/ssh/ssh_host_*
cat > "$root/etc/ssh/sshd_config.d/10-fakevpc-lab.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
cat > "$root/etc/systemd/system/fakevpc-ssh-hostkey.service" <<'EOF'
[Unit]
Description=Generate this lab VM's SSH host key
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
After=local-fs.target cloud-init.service fakevpc-identity.service
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=multi-user.target
EOF

# cloud-init, when a NoCloud seed is attached: that seed only (never probe a cloud metadata address), leave
# /etc/hosts alone, keep the network file above, no RSA/ECDSA host keys. Without a seed the kernel command
# line says cloud-init=disabled.
cat > "$root/etc/cloud/cloud.cfg.d/90-fakevpc-lab.cfg" <<'EOF'
datasource_list: [NoCloud]
manage_etc_hosts: false
network:
  config: disabled
ssh_genkeytypes: [ed25519]
locale: C.UTF-8
EOF

# Identity from qemu fw_cfg (opt/fakevpc/{hostname,user,authorized_keys}); a no-op without them.
# Shell builtins where possible: every exec costs a few hundred ms while a TCG guest boots.
cat > "$root/usr/local/sbin/fakevpc-identity" <<'EOF'
#!/bin/sh
set -eu
cfg=/sys/firmware/qemu_fw_cfg/by_name/opt/fakevpc
[ -r "$cfg/hostname/raw" ] || exit 0
# fw_cfg files have no final newline: read then reports end of file, having read the value.
read -r name < "$cfg/hostname/raw" || true
read -r user < "$cfg/user/raw" || true

echo "$name" > /etc/hostname
echo "$name" > /proc/sys/kernel/hostname
# Debian's convention for the machine's own name (the installer writes it too); the mesh adds its block.
sed -i -e '/^127\.0\.1\.1[[:space:]]/d' -e "1a 127.0.1.1\t$name" /etc/hosts

home=""
while IFS=: read -r login _ _ _ _ dir _; do
    if [ "$login" = "$user" ]; then home="$dir"; fi
done < /etc/passwd
if [ -z "$home" ]; then
    useradd --create-home --shell /bin/bash "$user"
    home="/home/$user"
fi
if [ "$user" != root ]; then
    (umask 0337; echo "$user ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/90-fakevpc-lab)
fi
install -D -m 0600 -o "$user" -g "$user" "$cfg/authorized_keys/raw" "$home/.ssh/authorized_keys"
EOF
chmod 0755 "$root/usr/local/sbin/fakevpc-identity"
cat > "$root/etc/systemd/system/fakevpc-identity.service" <<'EOF'
[Unit]
Description=Take this lab VM's identity from qemu fw_cfg
DefaultDependencies=no
After=local-fs.target systemd-modules-load.service
Before=sysinit.target ssh.service systemd-networkd.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/fakevpc-identity

[Install]
WantedBy=sysinit.target
EOF
# Load the fw_cfg driver early rather than whenever udev gets round to it.
echo qemu_fw_cfg > "$root/etc/modules-load.d/fakevpc-lab.conf"
# The lab user exists in the image (creating it at boot costs seconds under TCG); it has no password.
if [ "$lab_user" != root ]; then
    chroot "$root" useradd --create-home --shell /bin/bash "$lab_user"
fi

# The journal stays in memory: a lab VM's log is read live, or from its serial console file.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' > "$root/etc/systemd/journald.conf.d/fakevpc-lab.conf"

chroot "$root" systemctl enable --quiet systemd-networkd.service fakevpc-identity.service \
    fakevpc-ssh-hostkey.service

# Boot-time cuts. Under TCG every process a booting VM starts costs a few hundred ms of a shared host CPU,
# so the image runs only what a lab server needs. e2scrub_reap alone cost 46 s; no D-Bus means no logind;
# no password means no use for a getty; the journal is volatile, so nothing to flush.
for unit in systemd-networkd-wait-online.service e2scrub_reap.service e2scrub_all.timer apt-daily.timer \
    apt-daily-upgrade.timer man-db.timer fstrim.timer dpkg-db-backup.timer systemd-logind.service \
    systemd-binfmt.service systemd-sysusers.service systemd-network-generator.service systemd-pstore.service \
    systemd-journal-flush.service systemd-random-seed.service systemd-update-utmp.service \
    systemd-update-utmp-runlevel.service getty-static.service getty@.service serial-getty@.service \
    modprobe@dm_mod.service modprobe@efi_pstore.service modprobe@loop.service modprobe@drm.service \
    modprobe@fuse.service modprobe@configfs.service dev-hugepages.mount dev-mqueue.mount \
    sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount sys-kernel-config.mount; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# Generators run at every boot before any unit starts; keep fstab (the root mount) and cloud-init's.
mkdir -p "$root/etc/systemd/system-generators"
for generator in systemd-cryptsetup-generator systemd-debug-generator systemd-getty-generator \
    systemd-gpt-auto-generator systemd-hibernate-resume-generator systemd-integritysetup-generator \
    systemd-rc-local-generator systemd-run-generator systemd-system-update-generator \
    systemd-sysv-generator systemd-veritysetup-generator; do
    ln -sf /dev/null "$root/etc/systemd/system-generators/$generator"
done
# udev would load drivers for the emulated PC's legacy devices (IDE, buttons, KVM for the virtual CPU's
# SVM flag...): seconds of boot for nothing. The VM's own devices are NVMe (built in) and virtio.
cat > "$root/etc/modprobe.d/fakevpc-lab.conf" <<'EOF'
blacklist ata_piix
blacklist ata_generic
blacklist pata_acpi
blacklist kvm
blacklist kvm_amd
blacklist kvm_intel
blacklist button
blacklist evdev
blacklist serio_raw
blacklist psmouse
blacklist pcspkr
blacklist i2c_piix4
blacklist powernow_k8
blacklist floppy
EOF
