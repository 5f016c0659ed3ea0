#!/usr/bin/env bash
# Builds the initramfs `make test-linux` boots under `zxhv run` (docs/linux-boot.md): the static
# busybox and an /init that prints markers, has a shell run a command and ends the run through
# zxhv's exit port. Installs busybox-static and cpio with apt-get if they are missing.
#
# usage: linux-initramfs.sh [OUTDIR]   (default: <repo>/build/linux) -> OUTDIR/initramfs.gz
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
outdir=${1:-$here/../build/linux}
die() {
	echo "linux-initramfs: $*" >&2
	exit 1
}
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)

missing=()
# Only the static busybox runs alone in an initramfs.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
if ((${#missing[@]})); then
	sudo=()
	[[ $EUID -eq 0 ]] || sudo=(sudo -n)
	echo "linux-initramfs: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null 2>&1 ||
		die "cannot install ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
fi
busybox=/bin/busybox
[[ -x $busybox ]] || die "busybox-static is installed but $busybox is missing"

# /init. Its markers go to /dev/kmsg: printk writes them to the console by polling the UART,
# where tty output would wait for UART interrupts the board does not have.
init=$(
	cat <<'EOF'
#!/bin/busybox sh
# /init of zxhv's Linux boot test (scripts/linux-initramfs.sh, docs/linux-boot.md).
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
say() { echo "$*" >/dev/kmsg; }
say "ZXHV-INIT-OK: /init runs, uptime $(cat /proc/uptime)"
sh -c 'echo "ZXHV-SHELL-OK: a shell ran a command" >/dev/kmsg'
# zxhv's exit port (0xf4, docs/zxhv-run.md): writing a byte ends the run with that status.
printf '\000' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
say "ZXHV-EXIT-FAILED: writing port 0xf4 through /dev/port did not end the run"
while :; do sleep 3600; done
EOF
)

out=$outdir/initramfs.gz
if [[ -s $out && $out -nt $busybox && $out -nt ${BASH_SOURCE[0]} ]]; then
	exit 0
fi
st=$outdir/initramfs.d
rm -rf "$st"
mkdir -p "$st/bin" "$st/dev" "$st/proc"
cp "$busybox" "$st/bin/busybox"
for applet in sh mount cat echo printf dd sleep; do
	ln -s busybox "$st/bin/$applet"
done
printf '%s\n' "$init" >"$st/init"
chmod 755 "$st/init"
# The kernel opens /dev/console for /init's output before devtmpfs is mounted (root only).
[[ $EUID -eq 0 ]] && mknod -m 600 "$st/dev/console" c 5 1
(cd "$st" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -9 >"$out.tmp") ||
	die "building the initramfs failed"
mv -f "$out.tmp" "$out"
rm -rf "$st"
echo "linux-initramfs: $out" >&2
