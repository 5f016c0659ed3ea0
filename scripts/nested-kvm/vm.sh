#!/usr/bin/env bash
# Control the nested-KVM VM (see README.md).
#
# usage: vm.sh [--dir OUTDIR] start | stop | status
#        vm.sh [--dir OUTDIR] run [--cwd DIR] [--timeout SECONDS] -- CMD [ARGS...]
#
# OUTDIR defaults to $NESTED_KVM_DIR, else <repo>/build/nested (prepared by
# setup.sh).  Tunables (environment):
#   NESTED_KVM_CPU           QEMU -cpu model; default: try "max,phys-bits=48",
#                            then "qemu64,+svm,+npt"
#   NESTED_KVM_MEM           guest RAM (default 3G)
#   NESTED_KVM_SMP           guest vCPUs (default 2)
#   NESTED_KVM_TCG_THREAD    "single" (default) or "multi": multi-threaded TCG
#                            hangs the guest within minutes of KVM use (both
#                            vCPUs loop in exc_int3 after kernel text patching)
#   NESTED_KVM_BOOT_TIMEOUT  seconds `start` waits for the agent (default 120)
#   NESTED_KVM_TIMEOUT       seconds `run` waits for the command (default 600)
#   NESTED_KVM_ENV           extra variable names `run` passes to the command
#   NESTED_KVM_CACHED_USR=0  do not page-cache /usr in the VM (see README.md)
#   NESTED_KVM_APPEND        extra guest kernel parameters (e.g. loglevel=7)
#   NESTED_KVM_QEMU_ARGS     extra QEMU arguments (split on whitespace)
#   NESTED_KVM_FORCE=1       `start` even if the host has a usable /dev/kvm
# The VM's console goes to OUTDIR/console.log, its QEMU monitor (HMP) listens
# on OUTDIR/monitor.sock.
set -euo pipefail

# Absolute path with "." and ".." resolved (as `cd DIR && pwd` would, but
# without forking: `run` and `status` are on every KVM test's path), in REPLY.
abspath() {
	local p=$1 seg out=() IFS=/
	[[ $p == /* ]] || p=$PWD/$p
	local -a parts
	read -r -a parts <<<"$p"
	for seg in "${parts[@]}"; do
		case $seg in
		'' | .) ;;
		..) ((${#out[@]})) && unset 'out[-1]' ;;
		*) out+=("$seg") ;;
		esac
	done
	REPLY="/${out[*]}"
}

src=${BASH_SOURCE[0]}
[[ $src == */* ]] || src=./$src
abspath "${src%/*}"
here=$REPLY
abspath "$here/../.."
repo=$REPLY
outdir=${NESTED_KVM_DIR:-$repo/build/nested}
if [[ ${1:-} == --dir ]]; then
	outdir=${2:?--dir needs a directory}
	shift 2
fi
abspath "$outdir"
outdir=$REPLY
if [[ ! -d $outdir ]]; then
	echo "nested-kvm: $outdir does not exist; run scripts/nested-kvm/setup.sh first" >&2
	exit 125
fi
spool=$outdir/spool
pidfile=$outdir/qemu.pid
bell=$outdir/doorbell # FIFOs doorbell.in (host -> guest ttyS1) and doorbell.out
console=$outdir/console.log

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# Exit status 125 for "the VM machinery failed" (as opposed to the command).
die() {
	echo "nested-kvm: $*" >&2
	exit 125
}

host_kvm_usable() {
	# (-c first: bash's <> would create a plain file named /dev/kvm.)
	[[ -c /dev/kvm ]] && (exec 3<>/dev/kvm) 2>/dev/null
}

# Sets qpid to the running QEMU's pid, or fails.
qemu_pid() {
	local p='' exe=''
	qpid=
	[[ -s $pidfile ]] && read -r p <"$pidfile" && [[ $p =~ ^[0-9]+$ ]] || return 1
	kill -0 "$p" 2>/dev/null || return 1
	# Guard against a recycled pid.
	read -r -d '' exe <"/proc/$p/cmdline" 2>/dev/null || true
	[[ $exe == *qemu-system* ]] || return 1
	qpid=$p
}

is_ready() { qemu_pid && [[ -e $spool/ready ]]; }

ring() {
	# O_RDWR on a FIFO never blocks, even if QEMU is gone.
	[[ -p $bell.in ]] && { echo "$1" >&3; } 3<>"$bell.in" 2>/dev/null
	return 0
}

lock() {
	exec 9>"$outdir/.lock"
	flock -w 300 9 || die "timed out waiting for the lock $outdir/.lock"
}

# --- stop ---------------------------------------------------------------------
kill_vm() {
	local p
	qemu_pid || return 0
	p=$qpid
	if [[ -d $spool ]]; then
		: >"$spool/shutdown"
		ring shutdown
	fi
	for _ in $(seq 100); do # clean poweroff: up to 10 s
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
}

cmd_stop() {
	lock
	kill_vm
	rm -f "$pidfile" "$spool/ready" "$spool/shutdown" "$bell.in" "$bell.out" "$outdir/monitor.sock"
	echo "nested-kvm: stopped" >&2
}

# --- start --------------------------------------------------------------------
boot_once() { # CPU -> 0 ready, 1 failed (reason in $reason)
	local cpu=$1 t0=$SECONDS
	local boot_timeout=${NESTED_KVM_BOOT_TIMEOUT:-120}
	rm -rf "$spool"
	mkdir -p "$spool"
	cp "$here/agent.sh" "$spool/agent.sh"
	rm -f "$pidfile" "$bell.in" "$bell.out"
	mkfifo "$bell.in" "$bell.out"
	local extra=()
	read -r -a extra <<<"${NESTED_KVM_QEMU_ARGS:-}"
	if [[ ${NESTED_KVM_CACHED_USR:-1} == 1 && -d /usr ]]; then
		extra+=(-virtfs "local,path=/usr,mount_tag=hostusr,security_model=none,readonly=on,multidevs=remap")
	fi
	if ! qemu-system-x86_64 \
		-nodefaults -no-user-config -name nested-kvm \
		-machine q35 -accel "tcg,thread=${NESTED_KVM_TCG_THREAD:-single}" -cpu "$cpu" \
		-smp "${NESTED_KVM_SMP:-2}" -m "${NESTED_KVM_MEM:-3G}" \
		-display none -monitor "unix:$outdir/monitor.sock,server=on,wait=off" \
		-serial "file:$console" \
		-chardev "pipe,id=bell,path=$bell" -serial chardev:bell \
		-kernel "$outdir/kernel/vmlinuz" -initrd "$outdir/initramfs.gz" \
		-append "console=ttyS0 quiet panic=-1 nkvm.spool=$spool ${NESTED_KVM_APPEND:-}" -no-reboot \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$spool,mount_tag=spool,security_model=none,multidevs=remap" \
		-virtfs local,path=/tmp,mount_tag=hosttmp,security_model=none,multidevs=remap \
		-daemonize -pidfile "$pidfile" "${extra[@]}" \
		</dev/null >/dev/null 2>"$outdir/qemu.log" 9>&-; then
		reason="qemu failed to start: $(grep -v '^$' "$outdir/qemu.log" | tail -n 1)"
		return 1
	fi
	while :; do
		if [[ -e $spool/ready ]]; then
			echo "$cpu" >"$outdir/cpu"
			boot_secs=$((SECONDS - t0))
			return 0
		fi
		if [[ -s $spool/failed ]]; then
			reason="with -cpu $cpu: $(head -n 1 "$spool/failed")"
			kill_vm
			return 1
		fi
		if ! qemu_pid; then
			reason="the VM died while booting with -cpu $cpu (see $console): $(grep -v '^$' "$console" 2>/dev/null | tail -n 1)"
			return 1
		fi
		if ((SECONDS - t0 >= boot_timeout)); then
			reason="the VM was not ready after ${boot_timeout}s with -cpu $cpu (see $console)"
			kill_vm
			return 1
		fi
		sleep 0.1
	done
}

cmd_start() {
	if host_kvm_usable && [[ ${NESTED_KVM_FORCE:-0} != 1 ]]; then
		echo "nested-kvm: the host's /dev/kvm is usable; no VM needed" >&2
		return 0
	fi
	lock
	if is_ready; then
		echo "nested-kvm: already running" >&2
		return 0
	fi
	kill_vm # a half-started or wedged VM
	command -v qemu-system-x86_64 >/dev/null || die "cannot start: no qemu-system-x86_64 (run scripts/nested-kvm/setup.sh)"
	[[ -s $outdir/kernel/vmlinuz && -s $outdir/initramfs.gz ]] ||
		die "cannot start: $outdir is not set up (run scripts/nested-kvm/setup.sh)"
	case $outdir in
	*[[:space:],]*) die "cannot start: OUTDIR must not contain whitespace or commas: $outdir" ;;
	esac
	# phys-bits=48: TCG's default is 40, too few for guests that map the top
	# of a 48-bit guest-physical space (AMD hosts have 48).
	local cpus=("max,phys-bits=48" "qemu64,+svm,+npt") cpu
	[[ -n ${NESTED_KVM_CPU:-} ]] && cpus=("$NESTED_KVM_CPU")
	reason=
	local i
	for i in "${!cpus[@]}"; do
		cpu=${cpus[i]}
		if boot_once "$cpu"; then
			echo "nested-kvm: VM ready in ${boot_secs}s (-cpu $cpu, $(grep -h '^kvmcheck: summary' "$spool/kvmcheck.txt" 2>/dev/null | sed 's/^kvmcheck: summary: //' || echo 'KVM opens'))" >&2
			return 0
		fi
		((i + 1 < ${#cpus[@]})) && echo "nested-kvm: $reason; trying -cpu ${cpus[i + 1]}" >&2
	done
	rm -f "$pidfile"
	die "cannot start: $reason"
}

cmd_status() {
	if is_ready; then
		local cpu='?'
		[[ -r $outdir/cpu ]] && read -r cpu <"$outdir/cpu"
		echo "nested-kvm: running (pid $qpid, -cpu $cpu)"
		return 0
	fi
	echo "nested-kvm: not running" >&2
	return 3
}

# --- run ----------------------------------------------------------------------
# Environment passed to the command (names; prefixes end in _).
pass_env() {
	# (Every variable with these names came from the environment: no fork
	# for `compgen -e`.)
	local v
	for v in PATH HOME TERM LANG TZ LD_LIBRARY_PATH "${!LC_@}" "${!CRITERION_@}" \
		"${!ASAN_@}" "${!UBSAN_@}" "${!TSAN_@}" "${!LSAN_@}" "${!MSAN_@}" "${!ZXHV_@}" \
		${NESTED_KVM_ENV:-}; do
		[[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ && -v $v ]] && printf 'export %s=%q\n' "$v" "${!v}"
	done
	return 0
}

# Cancel jobs whose `vm.sh run` died without cleaning up (e.g. SIGKILL).
sweep() {
	local f id hp
	for f in "$spool"/*.job; do
		[[ -e $f ]] || continue
		id=${f##*/}
		id=${id%.job}
		hp=${id#*-}
		hp=${hp%%-*}
		[[ $hp =~ ^[0-9]+$ ]] || continue
		kill -0 "$hp" 2>/dev/null && continue
		if [[ -e $spool/$id.rc ]]; then
			rm -f "$spool/$id".{job,out,err,rc,cancel}
		elif [[ ! -e $spool/$id.cancel ]]; then
			: >"$spool/$id.cancel"
			ring "$id"
		fi
	done
}

cmd_run() {
	local cwd=$PWD timeout=${NESTED_KVM_TIMEOUT:-600}
	while (($#)); do
		case $1 in
		--cwd)
			cwd=${2:?--cwd needs a directory}
			shift 2
			;;
		--timeout)
			timeout=${2:?--timeout needs seconds}
			shift 2
			;;
		--)
			shift
			break
			;;
		-*) usage ;;
		*) break ;;
		esac
	done
	(($#)) || usage
	[[ $timeout =~ ^[0-9]+$ ]] || die "bad timeout: $timeout"
	abspath "$cwd"
	cwd=$REPLY
	is_ready || die "the VM is not running (start it with scripts/nested-kvm/vm.sh start)"
	case $cwd in
	/run | /run/* | /dev/shm | /dev/shm/*)
		echo "nested-kvm: warning: $cwd is private to the VM (the host's copy is not visible)" >&2
		;;
	esac
	case $1 in
	/run/* | /dev/shm/*)
		echo "nested-kvm: warning: $1 is under a directory private to the VM (the host's copy is not visible)" >&2
		;;
	esac

	shopt -s nullglob
	sweep
	local id
	id="${EPOCHREALTIME//[!0-9]/}-$$-$RANDOM"
	job=$spool/$id
	{
		printf 'cd -- %q 2>/dev/null || { echo %q >&2; exit 127; }\n' "$cwd" \
			"nested-kvm: cannot cd to $cwd in the VM (it sees the host root read-only, /tmp read-write; /run and /dev/shm are private)"
		printf 'unset OLDPWD\n'
		pass_env
		printf 'exec --'
		printf ' %q' "$@"
		printf '\n'
	} >"$job.tmp"
	trap 'finish 129' HUP
	trap 'finish 130' INT
	trap 'finish 143' TERM
	mv -f "$job.tmp" "$job.job"
	ring "$id"

	local deadline=$((${EPOCHREALTIME//[!0-9]/} / 1000 + timeout * 1000)) n=0
	while [[ ! -s $job.rc ]]; do
		if ((${EPOCHREALTIME//[!0-9]/} / 1000 >= deadline)); then
			cancel
			emit
			echo "nested-kvm: timed out after ${timeout}s waiting for '$*' in the VM; killed it (set NESTED_KVM_TIMEOUT or --timeout)" >&2
			exit 124
		fi
		n=$((n + 1))
		if ((n % 20 == 0)) && ! qemu_pid; then
			emit
			die "the VM died while running '$*' (see $console)"
		fi
		# Poll often at first (short commands), then back off: each
		# `sleep` is a fork that competes with QEMU for the host CPUs.
		if ((n < 50)); then sleep 0.01; elif ((n < 150)); then sleep 0.05; else sleep 0.2; fi
	done
	local rc
	read -r rc <"$job.rc" || true
	emit
	[[ $rc =~ ^[0-9]+$ ]] || die "bad exit status '$rc' from the VM"
	exit "$rc"
}

cancel() {
	: >"$job.cancel"
	ring "$job"
	for _ in $(seq 50); do
		[[ -s $job.rc ]] && break
		sleep 0.1
	done
}

# Print the job's output and remove its files.
emit() {
	[[ -s $job.out ]] && cat -- "$job.out"
	[[ -s $job.err ]] && cat -- "$job.err" >&2
	rm -f "$job".{job,tmp,out,err,rc,cancel}
}

finish() {
	trap - HUP INT TERM
	cancel
	emit
	exit "$1"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
run)
	shift
	cmd_run "$@"
	;;
*) usage ;;
esac
