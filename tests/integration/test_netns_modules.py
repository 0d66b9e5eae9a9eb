# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The netns modules on their own, on a simulated host (its own /run/netns), against the real kernel.

netns: a name is matched exactly (web is not web2), check mode reports a change only where there is one.
netns_link: a bridge with an address, a veth pair with one end put into a namespace, its address and
default route, applied twice and in check mode. netns_iptables: a chain of our own in that namespace,
checked with -C on a rerun, a jump duplicated by hand put right, and the chain's removal. Then every
thing is removed and the host is exactly as before, the veth pair gone by the time the namespace's removal returns. With each backend (nft and legacy), the one
iptables-restore of -C lines that confirms a rerun: a rule changed by hand under its own tag is found and
put back.
netns alone, run as a plain program: the host's end of a veth pair is gone the moment the namespace's removal
returns, even when something held the namespace open (the kernel tears it down once nothing holds it, after ip
netns delete has returned).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

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

- name: Read the host's links right after
  ansible.builtin.command: ip -br link
  register: links_left
  changed_when: false

# The kernel tears web2 down after ip netns delete returns; the module waits for the end of the veth pair it held.
- name: Check that removal changes something the first time only, and that the veth pair went with web2
  ansible.builtin.assert:
    that:
      - "[chain_removed, bridge_removed, web2_removed] | map(attribute='changed') | unique == [step.changes]"
      - links_left.stdout is not search('v-t')
"""


def one_host(make_simnet, prefix):
    """A simulated host with its own /run/netns, and its exact state before the test: (net, host, state)."""
    net = make_simnet(1, prefix=prefix, underlay=sim.UNDERLAY)
    host = net.servers[0]
    host.run(["sh", "-c", "mkdir -p /run/netns && mount -t tmpfs -o mode=0755 netns-module-test /run/netns"])
    return net, host, sim.exact_state(host)


def test_the_modules_on_real_namespaces_links_and_iptables(make_simnet):
    net, host, before = one_host(make_simnet, "nm")
    playbook_dir = net.workdir / "netns_modules"
    playbook_dir.mkdir()
    (playbook_dir / "modules.yml").write_text(PLAYBOOK)
    (playbook_dir / "links.yml").write_text(LINKS)
    (playbook_dir / "removal.yml").write_text(REMOVAL)
    run = run_playbook(playbook_dir / "modules.yml", sim.inventory(net, host, {}), verbose=0)
    assert run.rc == 0, run.describe()
    assert run.recap[host.name]["failed"] == 0
    assert sim.exact_state(host) == before


CONFIRMATION = """
- name: The rerun's confirmation of a chain, with one backend
  hosts: netns_vpc
  gather_facts: false
  vars:
    iptables: "ip netns exec tagged iptables-{{ backend }}"
  tasks:
    - name: Create the namespace
      fakevpc.vpc.netns:
        name: tagged

    - name: Add the chain, rerun, change a rule by hand, keep the chain, rerun
      ansible.builtin.include_tasks: confirmation_step.yml
      loop: [add, rerun, by hand, rerun]
      loop_control:
        loop_var: step

    - name: Remove the chain
      fakevpc.vpc.netns_iptables:
        namespace: tagged
        chain: T-INPUT
        state: absent
        backend: "{{ backend }}"

    - name: Remove the namespace
      fakevpc.vpc.netns:
        name: tagged
        state: absent
"""

# One step: the chain kept, then read; its first listing is what every later one must be.
CONFIRMATION_STEP = """
# The second rule, its source changed, under the tag of the rule as given: only iptables -C tells them apart.
- name: Change the second rule by hand, keeping its tag
  ansible.builtin.shell: >-
    {{ iptables }} -S T-INPUT 2 | sed 's/^-A T-INPUT /-R T-INPUT 2 /; s#10.99.0.1/32#10.99.0.3/32#'
    | xargs {{ iptables }} && {{ iptables }} -S T-INPUT
  register: by_hand
  changed_when: true
  when: step == 'by hand'

- name: Keep the chain ({{ step }})
  fakevpc.vpc.netns_iptables:
    namespace: tagged
    chain: T-INPUT
    jump_from: [INPUT]
    backend: "{{ backend }}"
    rules:
      - -p tcp -m tcp --dport 9 -j REJECT --reject-with tcp-reset
      - -s 10.99.0.1 -p icmp -j ACCEPT
  register: kept

- name: Read the chain
  ansible.builtin.command: "{{ iptables }} -S T-INPUT"
  register: listed
  changed_when: false

- name: Check that only the first run and the one after the change by hand changed it, back to the first listing
  ansible.builtin.assert:
    that:
      - kept.changed == (step in ['add', 'by hand'])
      - kept.backend == backend
      - listed.stdout == first_listing | default(listed.stdout)
      - step != 'by hand' or ('10.99.0.3/32' in by_hand.stdout and '10.99.0.3/32' not in listed.stdout)

- name: Remember the first listing
  ansible.builtin.set_fact:
    first_listing: "{{ listed.stdout }}"
  when: step == 'add'
"""


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_a_rerun_confirms_the_rules_with_each_backend_and_finds_one_changed_under_its_tag(make_simnet, backend):
    net, host, before = one_host(make_simnet, "nc")
    playbook = net.workdir / "confirmation.yml"
    playbook.write_text(CONFIRMATION)
    (net.workdir / "confirmation_step.yml").write_text(CONFIRMATION_STEP)
    run = run_playbook(playbook, sim.inventory(net, host, {"backend": backend}), verbose=0)
    assert run.rc == 0, run.describe()
    assert run.recap[host.name]["failed"] == 0
    assert sim.exact_state(host) == before


COLLECTIONS = Path(__file__).resolve().parents[2] / "collections"


def test_the_host_end_of_a_veth_pair_is_gone_when_the_namespace_removal_returns(make_simnet):
    net, host, before = one_host(make_simnet, "nt")
    args = net.workdir / "absent.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"name": "torn", "state": "absent"}}))
    # the module with the Python that runs the tests (Ansible's), outside Ansible
    remove = "PYTHONPATH=%s %s -m ansible_collections.fakevpc.vpc.plugins.modules.netns %s" % (COLLECTIONS, sys.executable, args)
    # A process outside the namespace holds it open for 2 s (as a slow `ip netns exec` or a monitoring agent could):
    # the kernel tears it down, and the veth pair with it, only then. The links are listed right after the module's
    # exit, in the same shell: no Ansible task in between to hide a late end.
    host.run("ip netns add torn && ip link add v-torn type veth peer name eth0 netns torn")
    holder = host.popen(["sh", "-c", "exec 3</run/netns/torn; sleep 2"])
    removed = host.run("sleep 0.5 && %s && ip -br link" % remove)
    assert holder.wait(timeout=10) == 0
    result, links = removed.stdout.strip().split("\n", 1)
    assert json.loads(result)["changed"] and "v-torn" not in links
    assert sim.exact_state(host) == before
