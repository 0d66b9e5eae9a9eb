# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VPCs spanning servers of issue 16, as netns_vpc_vpcs declares them: the unit tests of the fleet plan and the
fleet's integration test build the same two, on servers of their own names."""

from __future__ import annotations


def prod_vpc(web: str, app: str, db: str) -> dict:
    """VPC prod: public subnet web, app and private db on the servers named; db's port 7000 answers app only;
    an HTTP app (8080) in web and a TCP echo (7000) in db."""
    return {"name": "prod", "cidr": "10.30.0.0/16",
            "subnets": [{"name": "web", "cidr": "10.30.1.0/24", "type": "public", "server": web},
                        {"name": "app", "cidr": "10.30.2.0/24", "server": app},
                        {"name": "db", "cidr": "10.30.3.0/24", "server": db}],
            "policies": [{"subnet": "db", "ingress": [{"port": 7000, "source": "10.30.2.0/24", "action": "allow"},
                                                      {"port": 7000, "action": "deny"}]}],
            "apps": [{"name": "www", "subnet": "web", "command": "/usr/bin/python3 -m http.server 8080", "port": 8080},
                     {"name": "echo", "subnet": "db", "command": "/usr/bin/socat TCP-LISTEN:7000,fork EXEC:/bin/cat",
                      "port": 7000}]}


def dev_vpc(a: str, b: str) -> dict:
    """VPC dev: subnets a and b on the servers named."""
    return {"name": "dev", "cidr": "10.40.0.0/16",
            "subnets": [{"name": "a", "cidr": "10.40.1.0/24", "server": a},
                        {"name": "b", "cidr": "10.40.3.0/24", "server": b}]}
