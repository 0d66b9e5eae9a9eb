# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The netns modules on their own, on a simulated host (its own /run/netns), against the real kernel.

netns: a name is matched exactly (web is not web2), check mode reports a change only where there is one.
netns_link: a bridge with an address, a veth pair with one end put into a namespace, its address and
default route, applied twice and in check mode. netns_iptables: a chain of our own in that namespace,
checked with -C on a rerun, a jump duplicated by hand put right, and the chain's removal. Then every
thing is removed and the host is exactly as before.
"""

from __future__ import annotations

import pytest

from support import netns_vpc as sim
from support.playbook import run_playbook

pytestmark = pytest.mark.root

PLAYBOOK = """
- name: The netns modules on a real kernel
  hosts: netns_vpc
  gather_facts: false
  vars:
    web2_rules:
      - -p tcp -m tcp --dport 9 -j REJECT --reject-with tcp-reset
      - -s 10.99.0.1 -p icmp -j ACCEPT
  tasks:
    - name: Create the namespace web2
      fakevpc.vpc.netns:
        name: web2
      register: web2_created

    - name: Remove web, which does not exist although web2 does
      fakevpc.vpc.netns:
        name: web
        state: absent
      register: web_removed

    - name: Create web in check mode
      fakevpc.vpc.netns:
        name: web
      check_mode: true
      register: web_checked

    - name: Create web2 again, in check mode
      fakevpc.vpc.netns:
        name: web2
      check_mode: true
      register: web2_checked

    - name: List the namespaces
      ansible.builtin.command: ip netns
      register: listed
      changed_when: false

    - name: Check that names are matched exactly and check mode reports only real changes
      ansible.builtin.assert:
        that:
          - web2_created is changed
          - web_removed is not changed and not web_removed.existed
          - web_checked is changed and not web_checked.existed
          - web2_checked is not changed and web2_checked.existed
          - listed.stdout_lines | map('split') | map('first') | list == ['web2']

    - name: Wire web2 to a bridge (in check mode first, then twice)
      ansible.builtin.include_tasks: links.yml
      loop: [{check: true, changes: true}, {check: false, changes: true}, {check: false, changes: false}]
      loop_control:
        loop_var: step

    - name: Ping the bridge from web2
      ansible.builtin.command: ip netns exec web2 ping -c 1 -W 2 10.99.0.1
      changed_when: false

    - name: Refuse port 9 inside web2 (then rerun, then in check mode)
      fakevpc.vpc.netns_iptables:
        namespace: web2
        chain: T-INPUT
        jump_from: [INPUT]
        rules: "{{ web2_rules }}"
      check_mode: "{{ item }}"
      loop: [false, false, true]
      register: chain

    - name: Add a second jump by hand
      ansible.builtin.command: ip netns exec web2 iptables -A INPUT -j T-INPUT
      changed_when: true

    - name: Put the jumps right
      fakevpc.vpc.netns_iptables:
        namespace: web2
        chain: T-INPUT
        jump_from: [INPUT]
        rules: "{{ web2_rules }}"
      register: jumps_fixed

    - name: Read the rules inside web2
      ansible.builtin.command: ip netns exec web2 iptables -S
      register: rules
      changed_when: false

    - name: Check the chain
      ansible.builtin.assert:
        that:
          - chain.results | map(attribute='changed') | list == [true, false, false]
          - jumps_fixed is changed
          - rules.stdout_lines | select('equalto', '-A INPUT -j T-INPUT') | list | length == 1
          - rules.stdout is search('-A T-INPUT -p tcp -m tcp --dport 9 -m comment --comment .fakevpc:[0-9a-f]{12}. -j REJECT')

    - name: Remove the chain, the bridge (the veth pair goes with web2) and web2
      ansible.builtin.include_tasks: removal.yml
      loop: [{changes: true}, {changes: false}]
      loop_control:
        loop_var: step
"""

LINKS = """
- name: Make the bridge
  fakevpc.vpc.netns_link:
    name: br-t
    kind: bridge
    addresses: [10.99.0.1/24]
    rp_filter: 1
  check_mode: "{{ step.check }}"
  register: bridge

- name: Make the veth pair, its other end in web2
  fakevpc.vpc.netns_link:
    name: v-t
    kind: veth
    peer: {name: eth0, namespace: web2}
    master: br-t
  check_mode: "{{ step.check }}"
  register: veth

- name: Address web2's end and route through the bridge
  fakevpc.vpc.netns_link:
    name: eth0
    namespace: web2
    kind: veth
    addresses: [10.99.0.2/24]
    routes: [{dst: default, via: 10.99.0.1}]
  check_mode: "{{ step.check }}"
  register: inside

- name: Read the links
  ansible.builtin.command: ip -br link
  register: host_links
  changed_when: false

- name: Check what changed, and that check mode made nothing
  ansible.builtin.assert:
    that:
      - "[bridge, veth, inside] | map(attribute='changed') | unique == [step.changes]"
      - ('br-t' in host_links.stdout) == (not step.check)
"""

REMOVAL = """
- name: Remove the chain
  fakevpc.vpc.netns_iptables:
    namespace: web2
    chain: T-INPUT
    state: absent
  register: chain_removed

- name: Remove the bridge
  fakevpc.vpc.netns_link:
    name: br-t
    state: absent
  register: bridge_removed

- name: Remove web2
  fakevpc.vpc.netns:
    name: web2
    state: absent
  register: web2_removed

- name: Check that removal changes something the first time only
  ansible.builtin.assert:
    that: "[chain_removed, bridge_removed, web2_removed] | map(attribute='changed') | unique == [step.changes]"
"""


def test_the_modules_on_real_namespaces_links_and_iptables(make_simnet):
    net = make_simnet(1, prefix="nm", underlay=sim.UNDERLAY)
    host = net.servers[0]
    host.run(["sh", "-c", "mkdir -p /run/netns && mount -t tmpfs -o mode=0755 netns-module-test /run/netns"])
    before = sim.exact_state(host)
    playbook_dir = net.workdir / "netns_modules"
    playbook_dir.mkdir()
    (playbook_dir / "modules.yml").write_text(PLAYBOOK)
    (playbook_dir / "links.yml").write_text(LINKS)
    (playbook_dir / "removal.yml").write_text(REMOVAL)
    run = run_playbook(playbook_dir / "modules.yml", sim.inventory(net, host, {}), verbose=0)
    assert run.rc == 0, run.describe()
    assert run.recap[host.name]["failed"] == 0
    assert sim.exact_state(host) == before
