#!/usr/bin/env bash
# `make test-linux`: boots Debian's Linux kernel under `zxhv run` with a busybox initramfs and
# passes when the kernel's banner ("Linux version") appears on the guest's UART
# (docs/linux-boot.md).
#
# usage: test-linux.sh [BUILD]       BUILD: the CMake build directory (default: build)
#
# It fetches the kernel (scripts/get-linux.sh) and builds the initramfs
# (scripts/linux-initramfs.sh) into <repo>/build/linux, then runs zxhv through tests/kvm-launch:
# on the host's /dev/kvm, else in the nested-KVM VM, which it starts if it is not running (and
# then stops at the end; a VM it did not start is left running). Every line of the guest's output
# is printed with the seconds since zxhv started, then the times of the boot's milestones.
#
# Environment:
#   ZXHV_LINUX_TIMEOUT   seconds before zxhv is stopped (default 900)
#   ZXHV_LINUX_UNTIL     "init" (default): run until /init ends the run through the exit port;
#                        "banner": stop zxhv as soon as the banner is out
#   ZXHV_LINUX_IMAGE     the kernel (default build/linux/vmlinuz)
#   ZXHV_LINUX_CMDLINE   the kernel command line (default below)
#   ZXHV_LINUX_MEM       guest RAM (default 512M)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

# --guest TIMEOUT STOP CMD...: runs CMD (zxhv), in the VM or here, with each output line
# prefixed by the seconds since it started; when a line contains STOP (if not empty), or after
# TIMEOUT seconds, CMD gets SIGINT. Ends with "test-linux: exit status N".
if [[ ${1:-} == --guest ]]; then
	timeout=$2 stop=$3
	shift 3
	start=${EPOCHREALTIME/./}
	stamp() {
		local us=$((${EPOCHREALTIME/./} - start))
		printf '%4d.%03d %s\n' $((us / 1000000)) $((us / 1000 % 1000)) "$1"
	}
	stamp "test-linux: starting $*"
	# timeout passes the SIGINT sent to it on to zxhv.
	coproc ZXHV { exec timeout -s INT "$timeout" "$@" 2>&1; }
	pid=$ZXHV_PID
	while IFS= read -r -u "${ZXHV[0]}" line; do
		stamp "$line"
		if [[ -n $stop && $line == *"$stop"* ]]; then
			kill -INT "$pid" 2>/dev/null || true
			stop=
		fi
	done
	rc=0
	wait "$pid" || rc=$?
	stamp "test-linux: exit status $rc"
	exit 0
fi

build=${1:-build}
[[ $build == /* ]] || build=$repo/$build
zxhv=$build/tools/zxhv/zxhv
[[ -x $zxhv ]] || { echo "test-linux: no $zxhv (build it first: make)" >&2; exit 1; }
linux=$repo/build/linux
bash "$here/get-linux.sh" "$linux"
bash "$here/linux-initramfs.sh" "$linux"

timeout=${ZXHV_LINUX_TIMEOUT:-900}
image=${ZXHV_LINUX_IMAGE:-$linux/vmlinuz}
# earlyprintk: the banner shows within seconds, long before the 8250 console is up.
# loglevel=6: KERN_INFO messages stay in the log buffer; every byte on the UART is a VM exit,
# and printing all of them makes the boot 2-3x slower (docs/linux-boot.md). The banner is
# KERN_NOTICE and /init's markers KERN_WARNING: both are printed.
# pci=off: no PCI here, and probing all of configuration space costs thousands of exits.
# lpj: skips the delay-loop calibration; tsc=reliable: no clocksource watchdog;
# cryptomgr.notests: no crypto self-tests (seconds of guest CPU).
cmdline=${ZXHV_LINUX_CMDLINE:-console=ttyS0 earlyprintk=serial,ttyS0,115200 loglevel=6 pci=off lpj=1000000 tsc=reliable cryptomgr.notests}
case ${ZXHV_LINUX_UNTIL:-init} in
init) stop= ;;
banner) stop="Linux version" ;;
*) echo "test-linux: ZXHV_LINUX_UNTIL is init or banner" >&2; exit 2 ;;
esac

results=$build/test-linux
mkdir -p "$results"
log=$results/console.log
bash "$repo/tests/nested-vm-fixture" start "$results"
trap 'bash "$repo/tests/nested-vm-fixture" stop "$results"' EXIT

echo "test-linux: booting $image (${ZXHV_LINUX_MEM:-512M}, timeout ${timeout}s); log: $log"
cd "$repo"
NESTED_KVM_TIMEOUT=$((timeout + 120)) tests/kvm-launch bash "$here/test-linux.sh" --guest \
	"$timeout" "$stop" "$zxhv" run --stats --mem "${ZXHV_LINUX_MEM:-512M}" --cmdline "$cmdline" \
	--initrd "$linux/initramfs.gz" "$image" >"$log" 2>&1 || true
cat "$log"

# Milestones: the first line holding each, with its time. The two KERN_INFO ones are listed only
# when the log level prints them.
echo "test-linux: milestones (seconds since zxhv started):"
for m in "Linux version" "printk: console [ttyS0] enabled" "Run /init as init process" \
	"ZXHV-INIT-OK" "ZXHV-SHELL-OK" "test-linux: exit status"; do
	t=$(grep -m1 -F -- "$m" "$log" | awk '{print $1}') || true
	case $m in
	printk:* | Run*) [[ -n $t ]] || continue ;;
	esac
	printf '  %-34s %s\n' "$m" "${t:-(not reached)}"
done
if grep -q -F "Linux version" "$log"; then
	echo "test-linux: PASS: the kernel's banner is on the UART"
	exit 0
fi
echo "test-linux: FAIL: no \"Linux version\" on the UART (see $log)"
exit 1
