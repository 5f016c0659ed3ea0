#!/bin/bash
# Job agent of the nested-KVM VM (see README.md).  Runs INSIDE the VM,
# chrooted into the host's (read-only) root filesystem; vm.sh start copies it
# into the spool and the VM's /init runs it as:  agent.sh SPOOL DOORBELL
#
# Spool protocol (files in SPOOL, a read-write 9p share of OUTDIR/spool):
#   ID.job     host -> VM   bash snippet: cd, exports, `exec CMD ARGS`
#                           (the host writes it to a temp name, then renames)
#   ID.out     VM -> host   the job's stdout      ID.err   its stderr
#   ID.rc      VM -> host   "STATUS\n", written once the job has exited
#   ID.cancel  host -> VM   kill the job (host side timed out/interrupted)
#   shutdown   host -> VM   kill all jobs and exit; the VM then powers off
#   ready      VM -> host   agent is up and /dev/kvm opens
#   failed     VM -> host   one-line reason why the VM cannot serve jobs
# The host removes a job's files after reading ID.rc.
#
# DOORBELL is a serial port (ttyS1) fed by a FIFO on the host: the host
# writes a line after dropping a file, which wakes the agent at once.  So the
# agent does not poll the 9p share busily (which costs ~50% of a host CPU
# under TCG); it only rescans every $rescan seconds in case a ring was lost.
#
# Each job runs in its own process group (set -m), in the background, with
# only the environment its snippet exports, so several run at once.  Apart
# from the command itself nothing is exec'd per job: every exec costs
# ~0.1 s under TCG.
set -u
spool=${1:?usage: agent.sh SPOOL [DOORBELL]}
bell=${2:-/dev/ttyS1}
rescan=1
# Jobs get only what their snippet exports: unexport everything once, here
# (PATH stays a plain shell variable, used for our own lookups).
for v in $(compgen -e); do export -n "${v?}"; done
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd / || exit 1

fail() {
	echo "$*" >"$spool/failed"
	exit 1
}

# (Test -c first: bash's <> would create a plain file.)
if ! [[ -c /dev/kvm ]] || ! { exec 8<>/dev/kvm; } 2>/dev/null; then
	fail "cannot open /dev/kvm inside the VM"
fi
exec 8>&-

[[ -c $bell ]] || fail "no doorbell device $bell in the VM"
stty -F "$bell" raw -echo clocal 2>/dev/null || fail "stty on $bell failed"
exec 7<>"$bell" || fail "cannot open $bell"

set -m # each background job gets its own process group

{
	echo "kernel=$(uname -r)"
	echo "cpus=$(nproc)"
	echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
	echo "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
} >"$spool/ready.tmp" && mv -f "$spool/ready.tmp" "$spool/ready"

# Body of a job's process group: run the snippet in a child with its output
# redirected, then report the status.
job() {
	local id=$1
	(
		exec 7<&- 8<&- </dev/null >"$spool/$id.out" 2>"$spool/$id.err"
		# shellcheck disable=SC1090
		. "$spool/$id.job"
	)
	echo "$?" >"$spool/$id.rc"
}

declare -A pid=() # job id -> process group id, while known

scan() {
	local f id n present=()
	for f in "$spool"/*; do
		n=${f##*/}
		case $n in
		*.job)
			id=${n%.job}
			present+=("$id")
			[[ -n ${pid[$id]:-} ]] && continue
			job "$id" &
			pid[$id]=$!
			;;
		*.cancel)
			id=${n%.cancel}
			[[ ${pid[$id]:-} == finished ]] && continue
			if [[ -n ${pid[$id]:-} ]] && [[ ! -e $spool/$id.rc ]]; then
				kill -KILL -- "-${pid[$id]}" 2>/dev/null
				wait "${pid[$id]}" 2>/dev/null
				[[ -e $spool/$id.rc ]] || echo 137 >"$spool/$id.rc"
			fi
			pid[$id]=finished
			;;
		shutdown)
			for id in "${!pid[@]}"; do
				[[ ${pid[$id]} == finished ]] || kill -KILL -- "-${pid[$id]}" 2>/dev/null
			done
			wait
			rm -f "$spool/ready" "$spool/shutdown"
			exit 0
			;;
		esac
	done
	# Forget jobs whose files the host has removed.
	declare -A keep=()
	for id in "${present[@]}"; do keep[$id]=1; done
	for id in "${!pid[@]}"; do
		[[ -n ${keep[$id]:-} ]] || unset "pid[$id]"
	done
}

shopt -s nullglob
while :; do
	scan
	# Sleep until the doorbell rings (or the rescan interval passes),
	# then swallow any further rings already queued.
	if read -r -t "$rescan" -u 7 _; then
		while read -r -t 0.001 -u 7 _; do :; done
	fi
done
