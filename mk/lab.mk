# The qemu lab: servers as local VMs (roles/qemu_lab), the mesh on them, and its molecule scenario.
# Included by the top-level Makefile, which defines VENV, BIN and `deps` (the venv, and the host packages:
# qemu, mmdebstrap, e2fsprogs, genisoimage, openssh-client).
LAB_INVENTORY := inventories/lab/hosts.yml
.PHONY: lab lab-up lab-stop lab-destroy molecule

# Boot 3 servers (building the base image the first time), run site.yml on them, ping every pair by name.
lab: deps
	@start=$$SECONDS; \
	$(BIN)/ansible-playbook playbooks/lab.yml || exit $$?; vms=$$((SECONDS - start)); start=$$SECONDS; \
	$(BIN)/ansible-playbook -i $(LAB_INVENTORY) site.yml || exit $$?; mesh=$$((SECONDS - start)); start=$$SECONDS; \
	$(BIN)/ansible-playbook -i $(LAB_INVENTORY) playbooks/lab_pairs.yml || exit $$?; \
	echo "lab: VMs $${vms} s, site.yml $${mesh} s, pings $$((SECONDS - start)) s; inventory $(LAB_INVENTORY)"

# Only the VMs (and the inventory); idempotent: starts what is not running, restarts a VM that died.
lab-up: deps
	$(BIN)/ansible-playbook playbooks/lab.yml

lab-stop: deps
	$(BIN)/ansible-playbook playbooks/lab.yml -e qemu_lab_state=stopped

# Every VM, disk, seed, log and pid file, and the inventory; the cached base image and SSH key stay.
lab-destroy: deps
	$(BIN)/ansible-playbook playbooks/lab_destroy.yml

# Every molecule scenario (PROJECT_DIR:SCENARIO), each timed step by step; all run, any failure fails.
MOLECULE_SCENARIOS ?= .:default .:wg_mesh_reboot roles/netns_vpc:default
molecule: deps
	@status=0; for s in $(MOLECULE_SCENARIOS); do \
	    scripts/molecule-test.sh "$${s%%:*}" "$${s#*:}" || status=1; \
	done; exit $$status
