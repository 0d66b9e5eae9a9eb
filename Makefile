# fakevpc.vpc — every entry point a developer or CI uses.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# collections/ansible_collections/fakevpc/vpc is a symlink to this checkout.
COLLECTIONS := $(CURDIR)/collections

.PHONY: help deps test unit integration sanity lint build doc-check changelog-check core-matrix bench

help:
	@echo "make deps         install apt packages and the Python venv ($(VENV))"
	@echo "make test         every test: check-deps, lint, sanity, build, doc-check, changelog-check, unit,"
	@echo "                  integration, core-matrix, molecule (qemu lab)"
	@echo "make check-deps   every command of scripts/deps.txt installed and there, proven on a fresh Debian root"
	@echo "make lint         shellcheck of the tooling, ansible-lint (production profile, offline)"
	@echo "make sanity       ansible-test sanity (offline, no ignore file) on a copy under build/sanity"
	@echo "make build        build the collection tarball into build/ and check its contents"
	@echo "make doc-check    ansible-doc renders every module and filter, with EXAMPLES and RETURN"
	@echo "make changelog-check  changelog fragments, changelogs/changelog.yaml, CHANGELOG.md and version_added"
	@echo "make core-matrix  unit, sanity and a validation-only site.yml on every ansible-core in meta/runtime.yml"
	@echo "make unit         unit tests (pytest)"
	@echo "make integration  integration tests (pytest)"
	@echo "make bench        benchmarks (results under bench/results/)"

deps: $(VENV)/.deps-installed

$(VENV)/.deps-installed: requirements.txt scripts/install-deps.sh
	bash scripts/install-deps.sh $(VENV)
	touch $@

lint: deps
	shellcheck .ci/run scripts/*.sh
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BIN)/ansible-lint

sanity: deps
	bash scripts/sanity.sh

build: deps
	rm -rf build/collection
	$(BIN)/ansible-galaxy collection build --force --output-path build/collection .
	bash scripts/check-build.sh build/collection/fakevpc-vpc-*.tar.gz

doc-check: deps
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) bash scripts/doc-check.sh

# CHANGELOG.md is generated from changelogs/changelog.yaml (antsibull-changelog generate): it must be current.
changelog-check: deps
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	$(BIN)/python scripts/check-version-added.py
	mkdir -p build
	$(BIN)/antsibull-changelog generate --output build/CHANGELOG.md
	@cmp -s build/CHANGELOG.md CHANGELOG.md || { echo "CHANGELOG.md is not what antsibull-changelog generate makes" >&2; exit 1; }

# Venvs per ansible-core release under ~/.cache/fakevpc/core-matrix/ (kept; built on the first run).
core-matrix: deps
	bash scripts/core-matrix.sh

# pytest exits 5 when it collects no test: that fails the run, on purpose.
unit: deps
	$(BIN)/python -m pytest -q tests/unit

# One pytest worker per core, each taking whole files (a file's simulated servers are set up once, by one worker);
# every simulated server is anonymous, so files run side by side. The slowest tests are listed at the end.
integration: deps
	$(BIN)/python -m pytest -q -n auto --dist loadfile --durations=15 tests/integration

# Benchmarks are not tests: they print a table and keep it, dated, under bench/results/ (see bench/README.md).
# The lab bench needs `make lab` first and leaves the lab as it found it; the scale bench (simulated servers,
# root) runs last, with the lab idle.
# BENCH_LAB_ARGS: options of bench/lab_bench.py, e.g. "--first-runs 2" or "--only convergence".
BENCH_LAB_ARGS ?=
BENCH_SIM_SERVERS ?= 4 8 16 32 50
# The benchmarks import the checkout (ansible_collections.fakevpc.vpc) and the test helper package tests/support,
# from the two directories pytest.ini gives the tests.
BENCH_PYTHONPATH := $(COLLECTIONS):$(CURDIR)/tests
bench: deps
	PYTHONPATH=$(BENCH_PYTHONPATH) $(BIN)/python bench/plan_scale.py --results bench/results
	PYTHONPATH=$(BENCH_PYTHONPATH) $(BIN)/python bench/lab_bench.py --results bench/results $(BENCH_LAB_ARGS)
	PYTHONPATH=$(BENCH_PYTHONPATH) $(BIN)/python bench/sim_scale.py --results bench/results --servers $(BENCH_SIM_SERVERS)

# The host's commands (scripts/deps.txt): the missing packages installed (every time: `deps` runs once per
# venv), then one line per command still missing, which stops here; then the proof that the list is complete,
# on a fresh Debian root (scripts/deps-fresh-root.sh: minutes the first time, cached by the list's digest).
.PHONY: check-deps
check-deps:
	bash scripts/install-deps.sh --apt-only
	bash scripts/deps-fresh-root.sh

# The host's commands first; fast checks next; the qemu lab (mk/lab.mk) last, since it takes longest.
test: check-deps deps lint sanity build doc-check changelog-check unit integration core-matrix molecule

include $(wildcard mk/*.mk)
