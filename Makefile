# zxhv: a thin wrapper around CMake. `make` builds build/libzxhv.a, build/libzxhv.so and
# build/zxhv.pc; `make test` installs what tests need, builds and runs every test; `make run` runs
# a guest under `zxhv run`.
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
QUICK ?=

.PHONY: all deps configure test test-linux run install clean bench fuzz

all: configure
	cmake --build $(BUILD) -j$(JOBS)

deps:
	@bash scripts/install-deps.sh

configure: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

test: all
	@bash scripts/run-tests.sh $(BUILD)

# Boots Debian's Linux under `zxhv run` (docs/linux-boot.md); passes on the kernel's banner.
# Builds only the zxhv command.
test-linux: configure
	cmake --build $(BUILD) --target zxhv -j$(JOBS)
	@bash scripts/test-linux.sh $(BUILD)

# `make run`: the hello guest under `zxhv run --stats` (RUN_IMAGE, RUN_ARGS override). KVM comes from
# the host's /dev/kvm if usable, else from the nested-KVM VM (scripts/nested-kvm), which is set up
# and started here if it is not already running, and then stopped again; a VM someone else started
# is left running. ZXHV_NESTED=0 never uses the VM.
RUN_IMAGE ?= $(BUILD)/guests/hello.elf
RUN_ARGS ?= --stats
run: all
	@vm=scripts/nested-kvm/vm.sh; started=; \
	stop_vm() { if [ -n "$$started" ]; then started=; bash $$vm stop; fi; }; \
	trap 'stop_vm; exit 130' INT TERM HUP; \
	if ! { [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; } && [ "$${ZXHV_NESTED:-1}" != 0 ] && \
	   ! bash $$vm status >/dev/null 2>&1; then \
	  echo "make run: no usable /dev/kvm here: starting the nested-KVM VM (scripts/nested-kvm)"; \
	  if bash scripts/nested-kvm/setup.sh && bash $$vm start; then started=1; \
	  else echo "make run: the nested-KVM VM did not start; running without it"; fi; \
	fi; \
	echo "make run: zxhv run $(RUN_ARGS) $(RUN_IMAGE)"; \
	status=0; tests/kvm-launch $(BUILD)/tools/zxhv/zxhv run $(RUN_ARGS) $(RUN_IMAGE) || status=$$?; \
	stop_vm; \
	echo "make run: exit status $$status"; \
	exit $$status

# The benchmark (docs/benchmarks.md): raw KVM against zxhv; QUICK=1 for a run under a minute.
bench: configure
	@cmake --build $(BUILD) --target zxhv_bench -j$(JOBS) >/dev/null
	@bash bench/run.sh $(BUILD) $(QUICK)

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

# Fuzz campaigns with clang and libFuzzer (fuzz/run.sh, docs/robustness.md): FUZZ_TIME seconds
# per fuzzer, in build-fuzz.
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 600
fuzz:
	@bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME)

clean:
	rm -rf $(BUILD)
