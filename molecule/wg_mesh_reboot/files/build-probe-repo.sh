#!/bin/sh
# Build the scenario's local apt repository in $1 (emptied first): two tiny packages in versions 1 and 2.
# fakevpc-probe-reboot 2 asks for a reboot as a kernel upgrade does (its postinst creates
# /run/reboot-required); fakevpc-probe-plain 2 does not. Served to the VMs as a file: repository, so apt never
# leaves the VM.
set -eu
repo=${1:?usage: build-probe-repo.sh DIRECTORY}
rm -rf "$repo"
mkdir -p "$repo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for package in fakevpc-probe-reboot fakevpc-probe-plain; do
    for version in 1 2; do
        root="$work/$package-$version"
        mkdir -p "$root/DEBIAN" "$root/usr/share/$package"
        echo "$version" > "$root/usr/share/$package/version"
        cat > "$root/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Architecture: all
Maintainer: fakevpc developers <fakevpc@example.invalid>
Section: misc
Priority: optional
Description: fakevpc molecule probe: a package to upgrade
 Version 2 of fakevpc-probe-reboot asks for a reboot; fakevpc-probe-plain never does.
CONTROL
        if [ "$package" = fakevpc-probe-reboot ] && [ "$version" = 2 ]; then
            cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    touch /run/reboot-required
    echo fakevpc-probe-reboot >> /run/reboot-required.pkgs
fi
POSTINST
            chmod 0755 "$root/DEBIAN/postinst"
        fi
        dpkg-deb --root-owner-group --build "$root" "$repo/${package}_${version}_all.deb" >/dev/null
    done
done
cd "$repo"
dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null
