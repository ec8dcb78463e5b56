# binance-account-sync — every command a developer or CI needs.
#   make demo   see the product work against the local stack
#   make test   unit, integration and end-to-end tests (what CI runs)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PY          := $(VENV)/bin/python
# Pinned Python tools: the AWS emulator, the Lambda builder, the template linter and the
# third-party Binance client used to prove the simulator faithful.
PY_PKGS     := ministack[full]==1.5.33 cargo-lambda==1.9.2 cfn-lint==1.51.0 python-binance==1.0.37 boto3==1.43.11
STACK       := scripts/with-stack.sh
export SIM_PYTHON := $(abspath $(PY))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help setup build build-local lint test test-unit test-integration e2e demo bench deploy clean

help:
	@echo "make demo | test | lint | build | build-local | e2e | bench | deploy | clean"

$(VENV)/.installed: Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(PY_PKGS)
	touch $@

setup: $(VENV)/.installed ## Python venv with the pinned tools

build: setup ## Lambda zip for AWS (arm64); needs the aarch64-unknown-linux-gnu std installed
	$(VENV)/bin/cargo-lambda lambda build --release --arm64 --output-format zip --bin binance-account-sync

build-local: setup ## Lambda zip for this machine (x86_64), used by the emulator
	$(VENV)/bin/cargo-lambda lambda build --release --x86-64 --output-format zip --bin binance-account-sync

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(PY) scripts/check_table_definition.py

test: setup lint test-unit test-integration e2e ## everything CI runs

test-unit:
	cargo test --workspace --lib --bins

test-integration: setup
	$(STACK) cargo test --workspace --tests
	# The whole-sync tests again with the withdrawal fee outside the amount (strict mode
	# plays it inside): Binance does not say which, the product must be right both ways.
	SIM_WITHDRAW_FEE=outside cargo test --test sync_memory

e2e: setup
	scripts/e2e.sh

demo: setup
	scripts/demo.sh

bench: setup ## the core's speed, then whole-run costs against the targets (DynamoDB rows on a private emulator)
	cargo bench --bench reconcile
	$(STACK) cargo bench --bench runs

deploy: build ## real AWS: see README "Deploy"
	scripts/deploy.sh

clean:
	cargo clean
	rm -rf .run
