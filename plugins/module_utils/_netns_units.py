# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The systemd units of the netns_vpc role (its apps and its boot unit), every string through _systemd (pure).

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.fakevpc.vpc.plugins.module_utils import _systemd as systemd

UNIT_HEADER = ["Managed by fakevpc.vpc (netns_vpc role): local changes are overwritten."]


def app_unit(app, persist, unit_prefix):
    """The unit of one app of the plan (an item of its apps), run in its subnet's namespace.

    persist: the boot unit <unit_prefix>.service exists, and the app needs it.
    """
    unit = [("Description", systemd.value("App %s in VPC %s, subnet %s (%s)" % (
        app["name"], app["vpc"], app["subnet"], app["address"])))]
    if persist:
        boot = systemd.unit_list(["%s.service" % unit_prefix])
        unit += [("Requires", boot), ("After", boot)]
    service = [("NetworkNamespacePath", systemd.value("/run/netns/%s" % app["namespace"])),
               ("ExecStart", systemd.exec_line(app["command"])),
               ("Restart", "on-failure"),
               ("RestartSec", "2")]
    if app.get("user"):
        service.append(("User", systemd.user_value(app["user"])))
    return systemd.render_unit(UNIT_HEADER, [("Unit", unit), ("Service", service),
                                             ("Install", [("WantedBy", "multi-user.target")])])


def boot_unit(boot_script):
    """The oneshot unit that runs the boot script (an absolute path) early at boot."""
    if not isinstance(boot_script, str) or not boot_script.startswith("/"):
        raise systemd.UnitError("must be an absolute path, not %r" % (boot_script,))
    return systemd.render_unit(UNIT_HEADER, [
        ("Unit", [("Description", "VPCs of this host: namespaces, bridges, veth pairs and firewall"),
                  ("DefaultDependencies", "no"),
                  ("After", "local-fs.target systemd-sysctl.service"),
                  ("Before", "network-pre.target"),
                  ("Wants", "network-pre.target")]),
        ("Service", [("Type", "oneshot"),
                     ("RemainAfterExit", "yes"),
                     ("ExecStart", systemd.exec_line([boot_script]))]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ])


def host_units(plan, persist, unit_prefix, boot_script):
    """{'units': the units of fakevpc.vpc.systemd_units}: the boot unit with its script (when persisting a plan with
    VPCs), then one per app; every unit is rendered, the boot unit too, so that a string that cannot go into one
    stops the run before any change."""
    apps = []
    for app in plan["apps"]:
        try:
            apps.append({"name": app["unit"], "content": app_unit(app, persist, unit_prefix)})
        except systemd.UnitError as error:
            raise systemd.UnitError("VPC %r app %r: %s" % (app["vpc"], app["name"], error))
    try:
        boot = boot_unit(boot_script)
    except systemd.UnitError as error:
        raise systemd.UnitError("variable netns_vpc_boot_script: %s" % error)
    if not persist or plan["empty"]:
        return {"units": apps}
    script = {"path": boot_script, "content": plan["boot_script"], "mode": "0755"}
    return {"units": [{"name": "%s.service" % unit_prefix, "content": boot, "files": [script]}] + apps}
