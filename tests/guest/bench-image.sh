# shellcheck shell=bash
# Image extras of the bench scenario, sourced by tools/mk-guest-image.sh (its $top, $args,
# $scenario; this file is tests/guest/<scenario>-image.sh). The static benchmarks already come
# with build/arm64/bench (-> /opt/bufbroker/bench). Adds: dbus-daemon, bufbrokerd, libbufbroker,
# bufbrokerctl, broker_bench (dynamic) with their arm64 library closure (tools/guest-userspace.sh),
# the board policy + tests/guest/policy-bench.conf, the bus policy, and, when built, the pipeline
# (bb-camera, bb-video, bb-copy-pipeline, bb-region-check, bb-runas, libpng) with
# pipeline/guest/pipeline.sh for benchmark 6. A missing piece leaves it out; bench.sh says so.
bench_a=$top/build/arm64
bench_sys=$top/build/sysroot-arm64
bench_need=("$bench_a/libclient/libbufbroker.so.1" "$bench_a/daemon/bufbrokerd"
	"$bench_a/libclient/bufbrokerctl" "$bench_a/bench/broker_bench" "$bench_sys/usr/bin/dbus-daemon")
bench_missing=()
for f in "${bench_need[@]}"; do [ -e "$f" ] || bench_missing+=("$f"); done
if [ ${#bench_missing[@]} -eq 0 ]; then
	bench_stage=$(mktemp -d)
	chmod 0755 "$bench_stage"
	# shellcheck disable=SC2064
	trap "rm -rf '$bench_stage'" EXIT
	mkdir -p "$bench_stage"/{bin,sbin,lib}
	bench_bins=("$bench_a/libclient/libbufbroker.so.1=/usr/lib/aarch64-linux-gnu/libbufbroker.so.1"
		"$bench_a/daemon/bufbrokerd=/usr/sbin/bufbrokerd"
		"$bench_a/libclient/bufbrokerctl=/usr/bin/bufbrokerctl"
		"$bench_a/bench/broker_bench=/usr/bin/broker_bench")
	bench_pl=1
	for p in bb-camera bb-video bb-copy-pipeline bb-region-check guest/bb-runas; do
		[ -x "$bench_a/pipeline/$p" ] || bench_pl=0
	done
	if [ $bench_pl = 1 ]; then
		for p in bb-camera bb-video bb-copy-pipeline bb-region-check guest/bb-runas; do
			bench_bins+=("$bench_a/pipeline/$p=/usr/bin/${p#guest/}")
		done
		args+=(-f "$top/pipeline/guest/pipeline.sh=/etc/bufbroker-guest/pipeline.sh")
	else
		echo "mk-guest-image: bench: no pipeline in the image (make -C pipeline TARGET=arm64)" >&2
	fi
	"$top/tools/guest-userspace.sh" "$bench_sys" "$bench_stage" "${bench_bins[@]}" >/dev/null
	[ -e "$bench_stage/lib/ld-linux-aarch64.so.1" ] || [ -L "$bench_stage/lib/ld-linux-aarch64.so.1" ] ||
		ln -s /usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 "$bench_stage/lib/"
	ln -sfn ../sbin/bufbrokerd "$bench_stage/usr/bin/bufbrokerd" # pipeline.sh's PL_BIN=/usr/bin
	install -D -m 0644 "$top/daemon/policy/qemu-board.conf" "$bench_stage/etc/bufbroker/policy.conf"
	install -D -m 0644 "$top/tests/guest/policy-bench.conf" \
		"$bench_stage/etc/bufbroker/policy.d/50-bench.conf"
	install -D -m 0644 "$top/daemon/dbus/org.bufbroker.Broker1.conf" \
		"$bench_stage/usr/share/dbus-1/system.d/org.bufbroker.Broker1.conf"
	args+=(-d "$bench_stage=/")
else
	echo "mk-guest-image: bench: no broker benchmarks in the image, missing: ${bench_missing[*]}" >&2
fi
# Benchmark 5 mounts the page-cache fill file's ext2 disk (tools/bench.sh): ext4 serves ext2, and
# will not mount without a crc32c driver, whose module name differs between kernels.
args+=(-m ext4)
bench_crc=$(. "$kb/env" && find "$MODDIR" \( -name 'crc32c_generic.ko*' -o -name 'crc32c-cryptoapi.ko*' \) |
	head -n1)
[ -z "$bench_crc" ] || { bench_crc=${bench_crc##*/}; args+=(-m "${bench_crc%%.ko*}"); }
