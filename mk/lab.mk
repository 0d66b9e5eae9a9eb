# The qemu lab: servers as local VMs (roles/qemu_lab), the mesh on them, and its molecule scenario.
# Included by the top-level Makefile, which defines VENV, BIN and `deps`.
.PHONY: lab lab-up lab-stop lab-destroy lab-host-deps molecule

# Host packages the lab needs beyond `make deps`: qemu, the image build, the cloud-init seed.
LAB_HOST_PACKAGES := qemu-system-x86 qemu-utils mmdebstrap e2fsprogs genisoimage openssh-client
LAB_SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
LAB_INVENTORY := inventories/lab/hosts.yml

lab-host-deps:
	@missing=$$(for p in $(LAB_HOST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed$$' || echo "$$p"; done); \
	if [ -n "$$missing" ]; then \
	  echo "lab: installing" $$missing; \
	  $(LAB_SUDO) apt-get update -qq && $(LAB_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Boot 3 servers (building the base image the first time), run site.yml on them, ping every pair by name.
lab: deps lab-host-deps
	@start=$$SECONDS; \
	$(BIN)/ansible-playbook playbooks/lab.yml || exit $$?; vms=$$((SECONDS - start)); start=$$SECONDS; \
	$(BIN)/ansible-playbook -i $(LAB_INVENTORY) site.yml || exit $$?; mesh=$$((SECONDS - start)); start=$$SECONDS; \
	$(BIN)/ansible-playbook -i $(LAB_INVENTORY) playbooks/lab_pairs.yml || exit $$?; \
	echo "lab: VMs $${vms} s, site.yml $${mesh} s, pings $$((SECONDS - start)) s; inventory $(LAB_INVENTORY)"

# Only the VMs (and the inventory); idempotent: starts what is not running, restarts a VM that died.
lab-up: deps lab-host-deps
	$(BIN)/ansible-playbook playbooks/lab.yml

lab-stop: deps
	$(BIN)/ansible-playbook playbooks/lab.yml -e qemu_lab_state=stopped

# Every VM, disk, seed, log and pid file, and the inventory; the cached base image and SSH key stay.
lab-destroy: deps
	$(BIN)/ansible-playbook playbooks/lab_destroy.yml

molecule: deps lab-host-deps
	molecule/default/timed-test.sh
