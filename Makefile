# fakevpc.vpc — every entry point a developer or CI uses.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help deps test unit integration sanity lint bench

help:
	@echo "make deps         install apt packages and the Python venv ($(VENV))"
	@echo "make test         every test: lint, sanity, unit, integration, molecule"
	@echo "make bench        benchmarks (results under bench/results/)"

deps: $(VENV)/.deps-installed

$(VENV)/.deps-installed: requirements.txt scripts/install-deps.sh
	bash scripts/install-deps.sh $(VENV)
	touch $@

unit: deps
	$(BIN)/python -m pytest -q tests/unit

integration: deps
	$(BIN)/python -m pytest -q tests/integration

test: unit integration

include $(wildcard mk/*.mk)
