# Front door. `make` installs dependencies, builds and boots an example VM;
# `make test` runs the whole test suite (unit, guest, system, sanitizers).
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all deps build demo test test-fast test-asan bench fuzz format clean

all: deps build demo

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@ninja -C $(BUILD) -j $(JOBS)

demo: build
	@echo "--- lightvm run examples/hello (its own KVM VM) ---"
	@./$(BUILD)/src/lightvm run --stats ./$(BUILD)/examples/hello "from the quick start"

# Whole suite: regular build (all tiers), then host code under ASan+UBSan.
test: build
	@./scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j 1

bench: build
	@./$(BUILD)/bench/spawn_bench ./$(BUILD)/src/lightvm --runs 300
	@./$(BUILD)/bench/irq_bench --runs 7
	@bench/clock_bench.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests
	@bench/vm_bench.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests
	@bench/signal_bench.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests
	@./$(BUILD)/bench/net_bench --runs 5
	@bench/event_bench.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests
	@bench/proc_bench.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests
	@bench/thread_bench.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests
	@bench/go_bench.sh ./$(BUILD)/src/lightvm
	@bench/oci_bench.sh ./$(BUILD)/src/lightvm-oci 30
	@bench/docker_bench.sh ./$(BUILD)/src/lightvm-oci 30
	@bench/snapshot_bench.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests
	@bench/ready_clone.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests/noop.glibc 11
	@bench/migrate_bench.sh ./$(BUILD) 9
	@bench/smp_snapshot_bench.sh ./$(BUILD)/src/lightvm ./$(BUILD)/guests 11
	@bench/image_bench.sh ./$(BUILD)/src/lightvm
	@bench/create_rate.sh ./$(BUILD) ./$(BUILD)/guests/noop.musl 300 4 8 3

# libFuzzer targets (clang, ASan+UBSan), each for FUZZ_SECONDS (default 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	@./scripts/fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BUILD)-clang $(BUILD)-fuzz
