# zxhv: a thin wrapper around CMake. `make` builds build/libzxhv.a, build/libzxhv.so and
# build/zxhv.pc; `make test` installs what tests need, builds and runs every test; `make run` runs
# a guest under `zxhv run`.
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure test run install clean

all: configure
	cmake --build $(BUILD) -j$(JOBS)

deps:
	@bash scripts/install-deps.sh

configure: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

test: all
	@bash scripts/run-tests.sh $(BUILD)

run: all
	@echo "zxhv run: the VMM arrives with the VCPU and VMM issues; nothing to run yet."

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
