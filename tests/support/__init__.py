# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test helper package of the unit tests, the integration tests, molecule's verify and the benchmarks.

Imported as ``support``: pytest.ini puts tests/ on sys.path for every pytest run (molecule's testinfra verify
included), the Makefile's bench target sets PYTHONPATH for the scripts of bench/. Never shipped: the collection's
tarball holds only what galaxy.yml's manifest allows. One job a module:

* ``paths``: where the checkout, its playbooks, the Ansible commands and the simserver connection are;
* ``procs``: processes and namespaces seen through /proc;
* ``simnet``: simulated servers (anchor processes with their own namespaces) on a bridged fabric, and their
  inventory;
* ``playbook``: running ansible-playbook and reading its recap;
* ``pings``: pings that retry, pingers that run until stopped;
* ``probe_log``: the molecule scenarios' ping probe logs (also a command);
* ``addresses``: the mesh's addresses and hosts blocks, computed independently of the collection;
* ``mesh``: site.yml on simulated servers, and the mesh's state;
* ``netns_vpc``: a host and its upstream for the netns_vpc role, its state, traffic and apps;
* ``vpcs``: VPC declarations shared by the unit and integration tests;
* ``collection_build``: building and checking the collection tarball.
"""
