# binance-account-sync — every command a developer or CI needs.
#   make demo   see the product work against the local stack
#   make test   unit, integration and end-to-end tests (what CI runs)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PY          := $(VENV)/bin/python
# Pinned Python tools: the two AWS emulators (ministack for everything, moto as the
# second opinion on DynamoDB and Secrets Manager), the Lambda builder, the template
# linter and the third-party Binance client used to prove the simulator faithful.
PY_PKGS     := ministack[full]==1.5.33 moto[server]==5.2.5 cargo-lambda==1.9.2 cfn-lint==1.51.0 python-binance==1.0.37 ccxt==4.5.90 boto3==1.43.11
# Binance's official Python SDK needs pydantic >= 2.14.1 and cfn-lint's SAM translator pins
# pydantic ~= 2.13: pip cannot put both in one venv, so the SDK has a venv of its own.
SDK_VENV    ?= .venv-sdk
SDK_PKGS    := binance-sdk-spot==13.3.0
STACK       := scripts/with-stack.sh
export SIM_PYTHON := $(abspath $(PY))
export SIM_SDK_PYTHON := $(abspath $(SDK_VENV))/bin/python
# Property tests draw their cases from this seed, so CI is reproducible; run them with
# another (`make test-integration PROPTEST_RNG_SEED=$$RANDOM`) to explore further.
export PROPTEST_RNG_SEED ?= 20261201
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help setup build build-local lint test test-unit test-integration test-moto e2e demo bench deploy deploy-dry-run clean fuzz chaos mutants mutants-survivors coverage coverage-stack coverage-tools

help:
	@echo "make demo | test | test-unit | test-integration | lint | build | build-local | test-moto | e2e | coverage | bench | chaos | fuzz | deploy | deploy-dry-run | clean  (V=1: verbose tests)"

$(VENV)/.installed: Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(PY_PKGS)
	touch $@

$(SDK_VENV)/.installed: Makefile
	python3 -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --disable-pip-version-check $(SDK_PKGS)
	touch $@

setup: $(VENV)/.installed $(SDK_VENV)/.installed ## Python venvs with the pinned tools

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

# V=1 (e.g. `make test-unit V=1`): the tests' own output too (--nocapture), not only
# their names and results, for the cargo test runs below and `make coverage`.
TEST_BIN_ARGS := $(if $(filter 1,$(V)),--nocapture)
TEST_ARGS     := $(if $(TEST_BIN_ARGS),-- $(TEST_BIN_ARGS))

test-unit:
	cargo test --workspace --lib --bins $(TEST_ARGS)

# CI's chaos campaign (tests/chaos.rs, part of the workspace tests): a few hundred pairs
# on the in-memory store, a few on DynamoDB and on the simulator; a few minutes.
CI_CHAOS := CHAOS_SEED=20261201 CHAOS_PAIRS=200 CHAOS_SCHEDULES=200 CHAOS_DYNAMO_PAIRS=2 CHAOS_SIM_PAIRS=8

test-integration: setup
	$(STACK) env $(CI_CHAOS) cargo test --workspace --tests $(TEST_ARGS)
	# The whole-sync tests again with the withdrawal fee outside the amount (strict mode
	# plays it inside): Binance does not say which, the product must be right both ways.
	SIM_WITHDRAW_FEE=outside cargo test --test sync_memory $(TEST_ARGS)
	$(MAKE) --no-print-directory test-moto

# The tests that talk to DynamoDB and Secrets Manager again, against moto: a behaviour
# only one emulator has is not a behaviour of AWS (tests stay emulator-neutral). Of the
# whole-sync tests, those about conditional writes, conflicts, retries and deletes: the
# many-thousand-fill shapes take moto over 10 minutes and 12 GB (README, "CI's time").
# two_syncs_started_at_once_one_runs_one_reports_lease_held is left out: on moto it fails
# about 2 runs in 3 with both runs past the lease (an owner-conditioned UpdateItem of one of
# them then refused), i.e. two concurrent conditional UpdateItems of one item both
# succeeded, which DynamoDB never allows; it passes on ministack (README).
MOTO_SYNC_TESTS ?= bot_write_racing retried_invocation dry_run_reports \
  partial_then_resumed unknown_order_is_not nothing_is_ever_deleted recovered_entry_price \
  malformed_bot_item position_closed_while
test-moto: setup
	STACK_EMULATOR=moto $(STACK) sh -c 'cargo test --test store_dynamo --test secrets_manager $(TEST_ARGS) \
	  && cargo test --test sync_dynamo -- $(MOTO_SYNC_TESTS) $(TEST_BIN_ARGS)'

e2e: setup
	scripts/e2e.sh

demo: setup
	scripts/demo.sh

bench: setup ## the core's speed, then whole-run costs against the targets (DynamoDB rows on a private emulator)
	cargo bench --bench reconcile
	$(STACK) cargo bench --bench runs

# Coverage-guided fuzzing (fuzz/README.md): every target (or FUZZ_TARGETS="a b") for
# FUZZ_SECONDS, on stable Rust (no sanitizer). New inputs go to fuzz/.work/corpus/<target>
# (not committed), crashes to fuzz/artifacts/<target>/. Not part of `make test`: CI replays the committed corpus
# instead (tests/fuzz_corpus.rs). Extra libFuzzer flags: FUZZ_ARGS="-fork=1 -ignore_crashes=1".
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_TARGETS ?=
CARGO_FUZZ_VERSION := 0.13.2
fuzz:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION)
	cargo fuzz build --sanitizer none
	@failed=""; summary=""; \
	for t in $(or $(FUZZ_TARGETS),$$(cargo fuzz list)); do \
	  mkdir -p fuzz/.work/corpus/$$t fuzz/artifacts/$$t; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; found=$$(ls fuzz/artifacts/$$t | wc -l); \
	  cargo fuzz run --sanitizer none $$t fuzz/.work/corpus/$$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -dict=fuzz/json.dict -print_final_stats=1 $(FUZZ_ARGS) \
	    > fuzz/.work/$$t.log 2>&1 || failed="$$failed $$t"; \
	  grep -E -A1 'panicked at' fuzz/.work/$$t.log | head -n 2; grep -E 'Test unit written|stat::number_of_executed_units' fuzz/.work/$$t.log; \
	  execs=$$(grep -hoE '^#[0-9]+|stat::number_of_executed_units: [0-9]+' fuzz/.work/$$t.log | grep -oE '[0-9]+$$' | sort -n | tail -n 1); \
	  test "$$(ls fuzz/artifacts/$$t | wc -l)" -eq "$$found" || case "$$failed" in *" $$t") ;; *) failed="$$failed $$t";; esac; \
	  summary="$$summary$$t: $$execs executions\n"; \
	done; \
	printf "$$summary"; \
	if [ -n "$$failed" ]; then echo "crashed:$$failed (inputs in fuzz/artifacts/, logs in fuzz/.work/)"; exit 1; fi

# The chaos campaign (tests/chaos.rs, README "Chaos campaign"): CHAOS_PAIRS (account, fault
# schedule) pairs drawn from CHAOS_SCHEDULES distinct schedules on the in-memory store, the
# first CHAOS_DYNAMO_PAIRS of them on the DynamoDB emulator, CHAOS_SIM_PAIRS schedules with
# the real Binance client on the simulator. A failing pair prints the variables that replay
# it (CHAOS_PAIR=n runs that pair alone). Long: run it niced, e.g.
#   make chaos CHAOS_SEED=1 CHAOS_PAIRS=500
CHAOS_SEED         ?= 20261201
CHAOS_PAIRS        ?= 10000
CHAOS_SCHEDULES    ?= 1000
CHAOS_DYNAMO_PAIRS ?= 200
CHAOS_SIM_PAIRS    ?= 50
CHAOS_THREADS      ?= 2
chaos: setup
	CHAOS_SEED=$(CHAOS_SEED) CHAOS_PAIRS=$(CHAOS_PAIRS) CHAOS_SCHEDULES=$(CHAOS_SCHEDULES) \
	CHAOS_DYNAMO_PAIRS=$(CHAOS_DYNAMO_PAIRS) CHAOS_SIM_PAIRS=$(CHAOS_SIM_PAIRS) \
	CHAOS_THREADS=$(CHAOS_THREADS) \
	  $(STACK) nice -n 5 cargo test --profile chaos --test chaos -- --nocapture --test-threads=1

# Mutation testing of the reconciliation rules (src/core/), not part of `make test`: each
# mutant is a build and a run of the library's tests (MUTANTS_TESTS: cargo's target
# selection, for the build and the run alike). In place (the files are restored after
# each mutant; do not edit the tree meanwhile): a copy elsewhere would lose the fixtures
# the tests read from ../shared. MUTANTS_ARGS narrows it, e.g.
#   make mutants MUTANTS_ARGS="--file src/core/scope.rs"
# `make mutants-survivors` then tries only what the first pass missed (`--iterate`)
# against the in-memory whole-sync tests as well.
CARGO_MUTANTS_VERSION := 27.1.0
MUTANTS_ARGS ?=
MUTANTS_TESTS ?= --lib
MUTANTS_DEEP_TESTS := --lib --test=sync_memory --test=chaos_finds --test=sync_units_property --test=sync_withdrawal_precision
mutants:
	@cargo mutants --version >/dev/null 2>&1 || cargo install cargo-mutants --locked --version $(CARGO_MUTANTS_VERSION)
	cargo mutants --in-place --file 'src/core/**/*.rs' --test-tool cargo $(foreach t,$(MUTANTS_TESTS),-C $(t)) $(MUTANTS_ARGS)

mutants-survivors:
	$(MAKE) mutants MUTANTS_TESTS="$(MUTANTS_DEEP_TESTS)" MUTANTS_ARGS="--iterate $(MUTANTS_ARGS)"

# Line coverage (README "Tests"; not in CI): cargo-llvm-cov with Debian's LLVM tools of the
# same major version as rustc's own LLVM (an older llvm-profdata cannot read the profiles
# rustc writes), both installed here when missing. The instrumented build lives in
# $CARGO_TARGET_DIR/llvm-cov-target, apart from the normal one. `make coverage` runs the
# library, the binary and the integration tests that need no emulator (the in-memory store,
# the simulator); `make coverage-stack` adds the DynamoDB/SNS/Secrets tests under a private
# ministack. COVERAGE_TESTS narrows it, e.g. `make coverage COVERAGE_TESTS="--lib"`.
CARGO_LLVM_COV_VERSION := 0.9.1
RUSTC_LLVM_MAJOR := $(shell rustc -vV 2>/dev/null | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
COV_LLVM_BIN     := /usr/lib/llvm-$(RUSTC_LLVM_MAJOR)/bin
COVERAGE_MEMORY_TESTS := alerts_plan binance_client_fixtures binance_client_sim bot_verdicts \
  chaos_finds fuzz_corpus lambda_errors lambda_metrics secrets_cache secrets_smithy store_encoding \
  store_memory store_dynamo_mock sync_ban sync_memory sync_service sync_units_property \
  sync_withdrawal_precision
COVERAGE_STACK_TESTS := store_dynamo store_verdicts sync_dynamo secrets_manager alerts_sns \
  lambda_payload lambda_panic cli_commands cli_accounts cli_verdicts cli_signals bot_example fleet
COVERAGE_TESTS ?= --lib --bins $(foreach t,$(COVERAGE_MEMORY_TESTS),--test $(t))
COVERAGE_RUN = LLVM_COV=$(COV_LLVM_BIN)/llvm-cov LLVM_PROFDATA=$(COV_LLVM_BIN)/llvm-profdata \
  cargo llvm-cov --package binance-account-sync --summary-only --ignore-run-fail
coverage-tools:
	@test -n "$(RUSTC_LLVM_MAJOR)" || { echo "cannot read rustc's LLVM version (rustc -vV)"; exit 2; }
	@test -x $(COV_LLVM_BIN)/llvm-profdata || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq llvm-$(RUSTC_LLVM_MAJOR); }
	@cargo llvm-cov --version 2>/dev/null | grep -q ' $(CARGO_LLVM_COV_VERSION)$$' || cargo install --locked cargo-llvm-cov --version $(CARGO_LLVM_COV_VERSION)

coverage: setup coverage-tools
	$(COVERAGE_RUN) $(COVERAGE_TESTS) $(TEST_ARGS)

coverage-stack: setup coverage-tools
	$(STACK) env $(COVERAGE_RUN) $(COVERAGE_TESTS) $(foreach t,$(COVERAGE_STACK_TESTS),--test $(t)) $(TEST_ARGS)

deploy: build ## real AWS, one environment of samconfig.toml (DEPLOY_ENV): see README "Deploy"
	scripts/deploy.sh

deploy-dry-run: ## the `sam deploy` command make deploy would run (no zip, no AWS)
	DEPLOY_DRY_RUN=1 scripts/deploy.sh

clean:
	cargo clean
	rm -rf .run
