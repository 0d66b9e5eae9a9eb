# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hosts block survives cloud-init: wg_mesh keeps it in cloud-init's hosts templates, which cloud-init renders
with Jinja (trim_blocks) into /etc/hosts at every boot when manage_etc_hosts is true. The block's lines must
come out of that rendering exactly as the role writes them into /etc/hosts, or the next run changes the file."""

from __future__ import annotations

import jinja2
import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import build_mesh_plan

# cloud-init 22.4's hosts.debian.tmpl (Debian bookworm), its header line removed as cloud-init removes it.
DEBIAN_TEMPLATE = """\
{#
This file (/etc/cloud/templates/hosts.debian.tmpl) is only utilized
if enabled in cloud-config.  Specifically, in order to enable it
you need to add the following to config:
   manage_etc_hosts: True
-#}
# Your system has configured 'manage_etc_hosts' as True.
{# The value '{{hostname}}' will be replaced with the local-hostname -#}
127.0.1.1 {{fqdn}} {{hostname}}
127.0.0.1 localhost
"""


def cloud_init_render(template):
    """What cloud-init's Jinja renderer writes for a template (it keeps a final newline by hand)."""
    rendered = jinja2.Template(template, trim_blocks=True, extensions=["jinja2.ext.do"]).render(
        hostname="db", fqdn="db.example.com")
    return rendered + ("\n" if template.endswith("\n") else "")


def managed_block(lines):
    """The block as blockinfile writes it with the role's markers."""
    return "# BEGIN fakevpc.vpc wg_mesh\n" + "\n".join(lines) + "\n# END fakevpc.vpc wg_mesh\n"


@pytest.mark.parametrize("names, domain", [
    ({}, "vpcdomain"),
    ({1: "db", 2: "web-1", 3: "x9"}, "corp.example"),
    ({1: "a" * 63, 2: "0-0"}, "a-b.c-d.e"),
])
def test_rendered_template_holds_the_block_exactly(names, domain):
    servers = [{"host": "host%d" % i, "index": i, "endpoint": "203.0.113.%d" % i, "name": names.get(i)}
               for i in (1, 2, 3)]
    plan = build_mesh_plan(servers, domain=domain)
    for view in plan["servers"].values():
        block = managed_block(view["hosts_lines"])
        rendered = cloud_init_render(DEBIAN_TEMPLATE + block)
        assert rendered.endswith("127.0.0.1 localhost\n" + block)
        assert rendered.count("fakevpc.vpc wg_mesh") == 2


def test_rendering_really_is_jinja():
    """The check above would mean nothing if the renderer left template syntax alone."""
    assert cloud_init_render(DEBIAN_TEMPLATE).startswith(
        "# Your system has configured 'manage_etc_hosts' as True.\n127.0.1.1 db.example.com db\n")
