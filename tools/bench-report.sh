#!/bin/bash
# Turn the guest's benchmark CSVs (DIR/guest/bench/*.csv, from tests/guest/bench.sh) into
# DIR/results.md and DIR/*.png (gnuplot). Called by tools/bench.sh; rerun it alone to redo the
# report of a finished run.
# usage: tools/bench-report.sh DIR      (default out/bench)
set -uo pipefail
dir=${1:-out/bench}
g=$dir/guest/bench
md=$dir/results.md
[ -d "$g" ] || { echo "bench-report: no $g (did the guest run?)" >&2; exit 1; }
runv() { sed -n "s/^$1=//p" "$dir/run.txt" 2>/dev/null; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# heap_fit HEAP_CSV: per heap, a least-squares line through the alloc+free and memset medians of
# the sizes from 1 MiB up. Prints heap,fixed_us,us_per_mib,memset_us_per_mib (needs 2 sizes).
heap_fit() {
	awk -F, 'NR > 1 && $2 >= 1048576 {
		h = $1; x = $2 / 1048576; n[h]++; sx[h] += x; sxx[h] += x * x
		sy[h] += $4; sxy[h] += x * $4; sm[h] += $6; sxm[h] += x * $6
		if (!(h in seen)) { seen[h] = 1; order[++nh] = h }
	} END {
		for (i = 1; i <= nh; i++) {
			h = order[i]; d = n[h] * sxx[h] - sx[h] * sx[h]
			if (n[h] < 2 || d <= 0) continue
			b = (n[h] * sxy[h] - sx[h] * sy[h]) / d; a = (sy[h] - b * sx[h]) / n[h]
			m = (n[h] * sxm[h] - sx[h] * sm[h]) / d
			printf "%s,%.1f,%.1f,%.1f\n", h, a, b, m
		}
	}' "$1"
}

# CSV helpers (awk, no header line). metv VALUE TARGET -> met/missed (VALUE <= TARGET).
{
echo "# bufbroker benchmarks"
echo
echo "Suite $(runv suite), $(runv date), guest: $(sed -n 1p "$g/env.txt" 2>/dev/null | cut -d' ' -f1-3),"
echo "QEMU TCG (cortex-a57, 2 vCPUs, 1 GiB). Host: $(runv host_cpus) cores, load average"
echo "$(runv host_load_before) before and $(runv host_load_after) after the run, $(runv other_qemu_at_start) QEMU"
echo "process(es) running at the start (other guests steal CPU from this one: absolute figures"
echo "move with host load; the ratios compare two things measured interleaved in the same run)."
echo "Guest run $(runv guest_seconds) s, exit $(runv guest_exit)$( [ "$(runv smoke)" = 1 ] && echo ', SMOKE run (few repetitions)')."
echo "Times in µs: median and p99 over n repetitions. Raw CSVs: \`guest/bench/\`."
echo

# ---- 1 -------------------------------------------------------------------------------------
echo "## 1. Heap allocation (module ioctl, alloc+free) vs memset of the same bytes"
echo
if [ -s "$g/heap.csv" ]; then
	awk -F, 'NR > 1 && $2 == 4096 { s = s (s ? ", " : "") sprintf("%s %.0f µs", $1, $4) }
		END { print (s ? "Per-call cost at 4 KiB (alloc+free median): " s "." : "Per-call cost at 4 KiB: n/a (no 4 KiB figure in this run).") }' "$g/heap.csv"
	echo "It is mostly alloc_contig_range()'s fixed work (drain_all_pages, lru_cache_disable + synchronize_rcu_expedited,"
	echo "under TCG ~0.4-3 ms idle). Below 1 MiB the size hardly matters: alloc_contig_range() takes whole free blocks of"
	echo "the buddy allocator around the buffer (up to 4 MiB), and Debian's kernels clear every page it takes (init_on_alloc)"
	echo "before the rest goes back. On 6.1 and 6.12 the module frees a per-device region's buffer in pieces of up to 1 MiB"
	echo "straight to the buddy lists (kernel/bufbroker_contig.c); the default region frees through the kernel's"
	echo "cma_release(), which on 6.1 frees page by page through the per-CPU lists."
	echo "A least-squares line through each heap's medians from 1 MiB up splits the cost"
	echo "into a fixed part (the intercept) and a part per MiB, set against memset's per MiB; the \"net\" column below"
	echo "subtracts the fixed part from the median:"
	echo
	heap_fit "$g/heap.csv" >"$tmp/heap-fit.csv"
	if [ -s "$tmp/heap-fit.csv" ]; then
		echo "| heap | fixed part | per MiB | memset per MiB | per-MiB ratio |"
		echo "|---|---:|---:|---:|---:|"
		awk -F, '{ printf "| %s | %s | %.0f µs | %.0f µs | %.2f× |\n", $1, ($2 > 0 ? sprintf("%.0f µs", $2) : "≈0 (line below 0)"), $3, $4, ($4 > 0 ? $3 / $4 : 0) }' "$tmp/heap-fit.csv"
		echo
	fi
	echo "The floor is memset(0) into pre-faulted anonymous memory, timed right after each alloc+free (interleaved)."
	awk -F, '$4 == "uncached=1" { printf "%s is uncached (bufbroker,uncached): a fresh allocation also writes the cleared buffer back from the CPU caches and drops it (one clean-and-invalidate pass over the whole buffer), and its fresh figures include that; a recycled one of 64 KiB or more is cleared (in the background) through a write-combined mapping instead, with no cache maintenance.\n", $1 }' "$g/regions.csv" 2>/dev/null
	echo
	if [ -s "$g/trace-4k.txt" ]; then
		echo "Measured (function_graph of alloc_contig_range(), 4 KiB allocations from the idle camera region; the"
		echo "tracer slows every call, so read the shares): time per call inside alloc_contig_range() by callee:"
		echo
		echo "| callee (depth ≤ 3) | per call µs | share of alloc_contig_range |"
		echo "|---|---:|---:|"
		awk -F'|' '{
			if (match($1, /[0-9]+\.[0-9]+ us/) == 0) next
			d = substr($1, RSTART, RLENGTH); sub(/ us/, "", d)
			name = $2
			if (name ~ /\} \/\* /) { sub(/.*\/\* /, "", name); sub(/ \*\/.*/, "", name) }
			else { sub(/^ */, "", name); sub(/\(\);.*/, "", name) }
			if (name == "alloc_contig_range") { total += d; calls++; next }
			t[name] += d
		} END {
			if (!calls) exit
			n = 0
			for (f in t) { names[++n] = f }
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (t[names[j]] > t[names[i]]) { x = names[i]; names[i] = names[j]; names[j] = x }
			printf "| **alloc_contig_range (total)** | %.0f | 100%% (%d calls) |\n", total / calls, calls
			for (i = 1; i <= n && i <= 8; i++) printf "| %s | %.0f | %.0f%% |\n", names[i], t[names[i]] / calls, 100 * t[names[i]] / total
		}' "$g/trace-4k.txt"
		echo
		echo "(nested callees are counted in their parent too: __alloc_contig_migrate_range includes lru_cache_disable.)"
		echo
	fi
	echo "| heap | size | n | alloc med | alloc p99 | memset med | memset p99 | ratio (med) | net ratio | target ≤ 1.5× (≥ 1 MiB) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	awk -F, 'FNR == NR { fixed[$1] = $2 > 0 ? $2 : 0; next }
		FNR > 1 {
		s = $2 >= 1048576 ? sprintf("%d MiB", $2 / 1048576) : sprintf("%d KiB", $2 / 1024)
		r = $6 > 0 ? $4 / $6 : 0
		net = $6 > 0 ? ($4 - fixed[$1]) / $6 : 0
		ns = $2 < 1048576 ? "-" : (net <= 0 ? "≈0" : sprintf("%.2f×", net))
		t = $2 >= 1048576 ? (r <= 1.5 ? "met" : "**missed**") : "-"
		printf "| %s | %s | %d | %.0f | %.0f | %.0f | %.0f | %.2f× | %s | %s |\n", $1, s, $3, $4, $5, $6, $7, r, ns, t
	}' "$tmp/heap-fit.csv" "$g/heap.csv"
	if [ -s "$g/heap-recycle.csv" ]; then
		echo
		echo "### With the module's recycling on (recycle_ms = 1000, opt-in; off by default)"
		echo
		echo "A freed buffer is kept for 1 s and handed, cleared again, to the next request of the same"
		echo "size (kernel/bufbroker_recycle.c): no alloc_contig_range() on reuse. The clearing runs in the"
		echo "background right after the free (an unbound kernel worker, here on the other vCPU), so a reuse"
		echo "that comes later pays for the new dma-buf only. The same benchmark, right after the one above;"
		echo "\"fresh\" is the median from the table above. \"recycled\" follows the previous free by the"
		echo "memset (the clearing had time to finish: the usual case, a pipeline allocates again after doing"
		echo "something); \"back-to-back\" follows the previous free at once (it clears the buffer itself or waits"
		echo "for the worker: the worst case). The clearing's CPU time is the same in both, only spent earlier."
		echo "Reuses per region (all / found already cleared):"
		echo "$(awk '{ s = s (s ? ", " : "") $1 " " $2 " / " ($3 == "" ? "?" : $3) } END { print s }' "$g/recycle-hits.txt" 2>/dev/null)."
		echo
		echo "| heap | size | n | fresh med | recycled med | recycled p99 | back-to-back med | memset med | ratio (med) | back-to-back ratio | target ≤ 1.5× (≥ 1 MiB) |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
		awk -F, 'FNR == 1 { f++; next }
			f == 1 { fresh[$1 "," $2] = $4; next }
			{
				s = $2 >= 1048576 ? sprintf("%d MiB", $2 / 1048576) : sprintf("%d KiB", $2 / 1024)
				r = $6 > 0 ? $4 / $6 : 0
				b = ($8 != "" && $6 > 0) ? sprintf("%.2f×", $8 / $6) : "-"
				bm = $8 != "" ? sprintf("%.0f", $8) : "-"
				t = $2 >= 1048576 ? (r <= 1.5 ? "met" : "**missed**") : "-"
				printf "| %s | %s | %d | %.0f | %.0f | %.0f | %s | %.0f | %.2f× | %s | %s |\n", $1, s, $3, fresh[$1 "," $2], $4, $5, bm, $6, r, b, t
			}' "$g/heap.csv" "$g/heap-recycle.csv"
	fi
else
	echo "(no results: see console.log)"
fi
echo

# ---- 2 -------------------------------------------------------------------------------------
echo "## 2. Broker: Allocate + Release through bufbrokerd vs the direct ioctl + close"
echo
if [ -s "$g/broker.csv" ]; then
	awk -F, 'NR > 1 { printf "Plain D-Bus method round trip to the daemon, same run: %s median %.0f µs, p99 %.0f µs (n %d).\n", $1, $3, $4, $2 }' "$g/rtt.csv"
	rtt=$(awk -F, '$1 == 4096 && $2 ~ /^Properties.Get/ { print $4 }' "$g/split.csv" 2>/dev/null)
	[ -n "$rtt" ] && echo "The same round trip interleaved with the 4 KiB calls below: median ${rtt} µs."
	[ -n "$rtt" ] || rtt=$(awk -F, '$1 == "dbus_get_version" { print $3 }' "$g/rtt.csv")
	srtt=$(awk -F, '$1 == "session_get_version" { print $3 }' "$g/rtt.csv")
	echo "\"broker\" is the library's default path, a private session (OpenSession: one socket hop each way);"
	echo "\"bus\" is the same calls with BB_CONNECT_NO_SESSION, through dbus-daemon. Both interleaved with direct."
	echo
	for col in 5 7; do
		awk -F, -v rtt="${rtt:-0}" -v srtt="${srtt:-0}" -v col="$col" 'NR > 1 && $col != "" { o[++n] = $col - $3; if (n == 1) o4 = $col - $3 }
			END { if (!n) exit
				for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (o[j] < o[i]) { x = o[i]; o[i] = o[j]; o[j] = x }
				med = n % 2 ? o[(n + 1) / 2] : (o[n / 2] + o[n / 2 + 1]) / 2
				if (col == 5)
					printf "Overhead on a session (broker − direct median): %.0f µs at 4 KiB, %.0f µs as the median over all sizes = %.1f× a session round trip (%.0f µs; Allocate + Release are 2 calls).\n", o4, med, (srtt > 0 ? med / srtt : 0), srtt
				else
					printf "Overhead through dbus-daemon: %.0f µs at 4 KiB, %.0f µs median over all sizes = %.1f× a bus round trip (%.0f µs).\n", o4, med, (rtt > 0 ? med / rtt : 0), rtt }' "$g/broker.csv"
	done
	echo
	echo "| size | n | direct med | direct p99 | broker med | broker p99 | overhead med | ratio (med) | target ≤ 1.25× (≥ 1 MiB) | bus med | bus ratio |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
	awk -F, 'NR > 1 {
		s = $1 >= 1048576 ? sprintf("%d MiB", $1 / 1048576) : sprintf("%d KiB", $1 / 1024)
		r = $3 > 0 ? $5 / $3 : 0
		t = $1 >= 1048576 ? (r <= 1.25 ? "met" : "**missed**") : "-"
		bm = $7 != "" ? sprintf("%.0f", $7) : "-"
		br = ($7 != "" && $3 > 0) ? sprintf("%.2f×", $7 / $3) : "-"
		printf "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f× | %s | %s | %s |\n", s, $2, $3, $4, $5, $6, $5 - $3, r, t, bm, br
	}' "$g/broker.csv"
	if awk -F, 'NR > 1 && $15 != "" { f = 1 } END { exit !f }' "$g/broker.csv"; then
		echo
		echo "The allocating call alone, out of the same repetitions: the direct ioctl against the Allocate"
		echo "(bb_client_alloc(), the fd included). The table above is the target's comparison and counts the"
		echo "buffer's whole life; this one counts what the start of a stream waits for."
		echo
		echo "| size | ioctl med | ioctl p99 | Allocate med | Allocate p99 | overhead med | ratio (med) | within 1.25× |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---|"
		awk -F, 'NR > 1 && $15 != "" {
			s = $1 >= 1048576 ? sprintf("%d MiB", $1 / 1048576) : sprintf("%d KiB", $1 / 1024)
			r = $13 > 0 ? $15 / $13 : 0
			w = $1 >= 1048576 ? (r <= 1.25 ? "yes" : "no") : "-"
			printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f× | %s |\n", s, $13, $14, $15, $16, $15 - $13, r, w
		}' "$g/broker.csv"
	fi
	if awk -F, 'NR > 1 && $9 != "" { f = 1 } END { exit !f }' "$g/broker.csv"; then
		echo
		echo "A buffer queue in one call: 4 buffers held together, then freed; per buffer. Direct: 4 ioctls"
		echo "and 4 closes. Broker: one AllocateSet and one ReleaseSet on a session (what a camera or decoder"
		echo "does for its queue; bb_client_alloc_set()). Interleaved with the rows above."
		echo
		echo "| size | direct med | direct p99 | broker med | broker p99 | overhead per buffer | ratio (med) | target ≤ 1.25× |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---|"
		awk -F, 'NR > 1 && $9 != "" {
			r = $9 > 0 ? $11 / $9 : 0
			printf "| %d MiB | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f× | %s |\n", $1 / 1048576, $9, $10, $11, $12, $11 - $9, r, (r <= 1.25 ? "met" : "**missed**")
		}' "$g/broker.csv"
	fi
	if [ -s "$g/split.csv" ]; then
		echo
		echo "Where the broker's time goes: each call alone, interleaved, same run (median and p99, µs):"
		echo
		awk -F, 'NR == 1 { next }
			!($1 in seen) { seen[$1] = 1; sz[++ns] = $1 }
			!($2 in known) { known[$2] = 1; op[++no] = $2 }
			{ med[$1, $2] = $4; p99[$1, $2] = $5 }
			END {
				h = "| call |"; l = "|---|"
				for (i = 1; i <= ns; i++) {
					n = sz[i] >= 1048576 ? sprintf("%d MiB", sz[i] / 1048576) : sprintf("%d KiB", sz[i] / 1024)
					h = h sprintf(" %s med | %s p99 |", n, n); l = l "---:|---:|"
				}
				print h; print l
				for (j = 1; j <= no; j++) {
					row = "| " op[j] " |"
					for (i = 1; i <= ns; i++)
						row = row ((sz[i], op[j]) in med ? sprintf(" %.0f | %.0f |", med[sz[i], op[j]], p99[sz[i], op[j]]) : " - | - |")
					print row
				}
				for (i = 1; i <= ns; i++) {
					a = med[sz[i], "Allocate (bb_client_alloc)"] - med[sz[i], "direct ioctl alloc"]
					r = med[sz[i], "Release (bb_client_release)"] - med[sz[i], "direct close"]
					printf "%sAt %s, Allocate takes %.0f µs more than the direct ioctl, Release %.0f µs more than the direct close.", (i == 1 ? "\n" : " "), (sz[i] >= 1048576 ? sprintf("%d MiB", sz[i] / 1048576) : sprintf("%d KiB", sz[i] / 1024)), a, r
				}
				print ""
			}' "$g/split.csv"
	fi
	if [ -s "$g/reserve.csv" ]; then
		# The broker's own answer to the allocation cost: a role with a reservation (section 5).
		awk -F, 'FNR == 1 { f++; next } f == 1 && $1 == 4194304 { d = $3; next }
			f == 2 && $1 == "idle" && $2 == "benchres" { r = $6 }
			END { if (d > 0 && r > 0) printf "\nWith a reservation (role benchres, `reserve = 4 x 4M`, section 5) a 4 MiB Allocate on an idle region takes %.0f µs (median, no CMA allocation): %.2f× the direct 4 MiB ioctl + close above (%.0f µs). Not the target'"'"'s comparison (that is the fresh allocation in the table), but what a camera role with a reservation sees.\n", r, r / d, d }' "$g/broker.csv" "$g/reserve.csv"
	fi
else
	echo "(no results: see console.log)"
fi
echo

# ---- 3 -------------------------------------------------------------------------------------
echo "## 3. Sharing: Share + Import vs one plain D-Bus round trip"
echo
if [ -s "$g/share.csv" ]; then
	rtt=$(awk -F, '$1 == "get_version_interleaved" { print $3 }' "$g/share.csv")
	[ -n "$rtt" ] || rtt=$(awk -F, '$1 == "dbus_get_version" { print $3 }' "$g/rtt.csv")
	srtt=$(awk -F, '$1 == "session_get_version_interleaved" { print $3 }' "$g/share.csv")
	echo "The round trip: Properties.Get(Version) to bufbrokerd through dbus-daemon, one per Share+Import,"
	echo "interleaved (the same call on a private session: ${srtt:-?} µs). share_import and share_only run on"
	echo "sessions (the library's default); share_import_bus is the same pair through dbus-daemon."
	echo
	echo "| op | n | med | p99 | max | ratio to the round trip (${rtt} µs) | target ≤ 2× |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	awk -F, -v rtt="$rtt" 'NR > 1 {
		r = rtt > 0 ? $3 / rtt : 0
		t = $1 == "share_import" ? (r <= 2 ? "met" : "**missed**") : "-"
		printf "| %s | %d | %.0f | %.0f | %.0f | %.2f× | %s |\n", $1, $2, $3, $4, $5, r, t }' "$g/share.csv"
else
	echo "(no results)"
fi
echo

# ---- 4 -------------------------------------------------------------------------------------
echo "## 4. Scale: concurrent client processes, Allocate + Release of 64 KiB through the broker"
echo
if [ -s "$g/scale.csv" ]; then
	echo "Each client process on a private session (the library's default) and, separately, through dbus-daemon."
	echo
	echo "| transport | clients | ops | failures (target 0) | ops/s | p50 | p99 | p99/p50 | max |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, 'NR > 1 { printf "| %s | %d | %d | %d %s | %.1f | %.0f | %.0f | %.2f | %.0f |\n", ($9 != "" ? $9 : "bus"), $1, $2, $3, ($3 == 0 ? "(met)" : "(**missed**)"), $5, $6, $7, ($6 > 0 ? $7 / $6 : 0), $8 }' "$g/scale.csv"
fi
echo
if [ -s "$g/rss.csv" ]; then
	awk -F, 'NR > 1 {
		printf "Daemon memory: Rss (smaps_rollup) %d kB idle (one client connected), %d kB with %d live buffers of %d bytes (%d failed);", $4, $5, $1 - $3, $2, $3
		printf " target ≤ 4096 kB: %s. Bookkeeping %d bytes per buffer ((RSS_live − RSS_idle)/%d; RSS counts whole pages).", ($5 <= 4096 ? "met" : "**missed**"), $7, $1 - $3
		printf " Daemon fds %d → %d. Allocating them took %.1f s.\n", $8, $9, $10 }' "$g/rss.csv"
	echo "From the source: one \`struct bb_buffer\` (daemon/buffers.h) is 160 bytes on arm64/x86-64"
	echo "(id 8, client 8, role[16], heap[64], name[32], size 8, fd 4 + imported 1 + pad 3, origin 8, next 8),"
	echo "176 bytes as a glibc malloc chunk; the rest is the dma-buf fd (kernel memory, not RSS) and sd-bus/libevent state."
fi
echo

# ---- 5 -------------------------------------------------------------------------------------
echo "## 5. CMA regions under pressure (4 MiB allocations)"
echo
if [ -s "$g/pagecache.csv" ]; then
	awk -F, 'NR > 1 { printf "Phase pagecache: read %d MiB of a file from an ext2 disk in %.1f s (clean page cache: movable, and CMA may drop it instead of migrating it); MemFree %d → %d kB, CmaFree %d → %d kB (the regions are %.0f%% occupied by page-cache pages). Dropped again before the next phase.\n", $5, $6, $1, $3, $2, $4, ($2 > 0 ? 100 * ($2 - $4) / $2 : 0) }' "$g/pagecache.csv"
	echo
fi
if [ -s "$g/fill.csv" ]; then
	awk -F, 'NR > 1 { printf "Phase pressure: %d MiB of tmpfs (shmem: movable, not reclaimable without swap); MemFree %d → %d kB, CmaFree %d → %d kB (the regions are %.0f%% occupied by page-cache pages).\n", $5, $1, $3, $2, $4, ($2 > 0 ? 100 * ($2 - $4) / $2 : 0) }' "$g/fill.csv"
	echo
fi
if [ -s "$g/pressure.csv" ]; then
	echo "Allocations kept until n (each needs a range of the region nobody allocated yet, so under a fill each must first empty it: drop the clean page cache, migrate the rest), each timed; direct ioctl:"
	echo
	echo "| phase | heap | size | n | failures | med | p99 | max | pages migrated per alloc (med) |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, 'NR > 1 { printf "| %s | %s | %d MiB | %d | %d | %.0f | %.0f | %.0f | %d |\n", $1, $2, $3 / 1048576, $4, $5, $6, $7, $8, $9 }' "$g/pressure.csv"
	awk -F, 'NR > 1 { m[$1] = $6; p[$1] = $7 } END { if (m["idle"] > 0) { printf "\n"; if (m["pagecache"] > 0) printf "Page cache vs idle, same run: median %.2f×, p99 %.2f×. ", m["pagecache"] / m["idle"], p["pagecache"] / p["idle"]; if (m["pressure"] > 0) printf "tmpfs (pressure) vs idle: median %.2f×, p99 %.2f×.", m["pressure"] / m["idle"], p["pressure"] / p["idle"]; printf "\n" } }' "$g/pressure.csv"
fi
if [ -s "$g/reserve.csv" ]; then
	echo
	echo "### Reservations (policy \`reserve = 4 x 4M\`, role benchres on video) vs none (role bench on camera), through the broker"
	echo
	echo "| phase | role | size | n | failures | med | p99 | max | from the reservation | arrived not zeroed |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, 'NR > 1 { printf "| %s | %s | %d MiB | %d | %d | %.0f | %.0f | %.0f | %s | %s |\n", $1, $2, $3 / 1048576, $4, $5, $6, $7, $8, $9, $10 }' "$g/reserve.csv"
	awk -F, 'NR > 1 { p[$1 "/" $2] = $7 } END { if (p["pagecache/benchres"] > 0) printf "\np99 with the page cache: without reservation %.0f µs, with %.0f µs: %.1f× lower with the reservation.", p["pagecache/bench"], p["pagecache/benchres"], p["pagecache/bench"] / p["pagecache/benchres"]; if (p["pressure/benchres"] > 0) printf "\np99 under pressure (tmpfs): without reservation %.0f µs, with %.0f µs: **%.1f× lower** with the reservation. A reserved buffer comes without a CMA allocation; after a client let go of it the daemon renews it in the background (free + allocate the same range again: no migration, pages cleared by the heap). \"arrived not zeroed\" is checked by the client on every buffer.\n", p["pressure/bench"], p["pressure/benchres"], p["pressure/bench"] / p["pressure/benchres"] }' "$g/reserve.csv"
fi
if [ -s "$g/churn.csv" ]; then
	echo
	awk -F, 'NR > 1 { printf "Fragmentation churn (%s, region filled as above): %d random ops (%d allocations, %d frees, %d ENOMEM), then %d live buffers (%d KiB). Free %d KiB; largest allocatable %d KiB = **%.1f%%** of the free bytes.\n", $1, $2, $3, $4, $5, $6, $7 / 1024, $9 / 1024, $10 / 1024, 100 * $11 }' "$g/churn.csv"
fi
echo

# ---- 6 -------------------------------------------------------------------------------------
echo "## 6. Pipeline: zero-copy vs copy baseline, 1280x720 YUYV"
echo
if [ -s "$g/pipeline.txt" ]; then
	echo "Runs in this order in one boot (pipeline/guest/pipeline.sh, PL_MODE \"$(cat "$g/pipeline-modes.txt" 2>/dev/null)\"):"
	echo "copy = bb-copy-pipeline (MMAP + 2 memcpy); direct = bb-camera --direct + bb-video (fds over SCM_RIGHTS);"
	echo "broker = bb-camera/bb-video as camera-client/video-client through bufbrokerd (share tokens)."
	echo "No mode keeps frames for PNGs while timed (PL_PNG_MAX=0): each kept frame costs a 1.8 MB copy into fresh memory."
	awk -F, '$1 ~ /^camera/ { printf "Zero-copy buffers come from the %s region, %s.\n", $1, ($4 == "uncached=1" ? "uncached (bufbroker,uncached in the DT: write-combined CPU mappings, no cache maintenance)" : "cached (cache maintenance over the frame at each SYNC start and end)") }' "$g/regions.csv" 2>/dev/null
	echo
	echo "| run | mode | frames | verified | fps | CPU ms/frame | sys ms/frame |"
	echo "|---:|---|---:|---:|---:|---:|---:|"
	awk -v modes="$(cat "$g/pipeline-modes.txt" 2>/dev/null)" 'BEGIN { nm = split(modes, ml, " ") } /^PIPELINE / { n++; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		label = v["mode"]; if (n <= nm && ml[n] != "copy") label = label " (" ml[n] ")"
		printf "| %d | %s | %s | %s | %s | %s | %s |\n", n, label, v["frames"], v["verified"], v["fps"], v["cpu_ms_per_frame"], v["sys_ms_per_frame"]
		s[v["mode"]] += v["cpu_ms_per_frame"]; c[v["mode"]]++
		if (n <= nm && ml[n] != "copy") { s[ml[n]] += v["cpu_ms_per_frame"]; c[ml[n]]++ } }
		END { if (c["copy"] && c["zero-copy"]) {
			z = s["zero-copy"] / c["zero-copy"]; k = s["copy"] / c["copy"]
			printf "\nMean CPU per frame: zero-copy %.2f ms (%d runs), copy %.2f ms (%d runs): ratio **%.2f×**, target ≤ 0.5×: %s.\n", z, c["zero-copy"], k, c["copy"], z / k, (z / k <= 0.5 ? "met" : "**missed**")
			for (m in c) if (m == "direct" || m == "broker")
				printf "By path: zero-copy %s %.2f ms (%d runs) = %.2f× copy.\n", m, s[m] / c[m], c[m], s[m] / c[m] / k
			print "CPU: getrusage of the camera and video processes from STREAMON to the last frame (allocation, import and mmap before it are not counted), divided by the frames."
		} }' "$g/pipeline.txt"
else
	echo "(not run: no pipeline in the image, or a smoke run)"
fi
echo
echo "Plots: heap.png (alloc latency vs size per heap, memset floor), broker.png (broker vs direct,"
echo "round trip), scale.png (p50/p99 and throughput vs clients), pressure.png (idle vs pressure,
direct and through the broker with/without a reservation)."
} >"$md"

# ---- plots -----------------------------------------------------------------------------------
if command -v gnuplot >/dev/null; then
	common='set terminal pngcairo size 900,560 noenhanced; set datafile separator ","; set key left top; set grid'
	if [ -s "$g/heap.csv" ]; then
		plot=""
		for h in $(awk -F, 'NR > 1 { print $1 }' "$g/heap.csv" | sort -u); do
			awk -F, -v h="$h" 'NR > 1 && $1 == h' "$g/heap.csv" >"$tmp/heap-$h.csv"
			plot+="'$tmp/heap-$h.csv' using (\$2/1024):4 with linespoints title 'alloc+free $h', "
			plot+="'$tmp/heap-$h.csv' using (\$2/1024):6 with lines dashtype 2 title 'memset $h', "
			if [ -s "$g/heap-recycle.csv" ]; then
				awk -F, -v h="$h" 'NR > 1 && $1 == h' "$g/heap-recycle.csv" >"$tmp/heapr-$h.csv"
				plot+="'$tmp/heapr-$h.csv' using (\$2/1024):4 with linespoints dashtype 3 title 'recycled $h', "
			fi
		done
		gnuplot -e "$common; set output '$dir/heap.png'; set logscale xy; set xlabel 'size (KiB)';
			set ylabel 'median µs'; set title 'Heap allocation vs memset floor (median)'; plot ${plot%, }" 2>>"$dir/gnuplot.log"
	fi
	if [ -s "$g/broker.csv" ]; then
		rtt=$(awk -F, '$1 == "dbus_get_version" { print $3 }' "$g/rtt.csv")
		gnuplot -e "$common; set output '$dir/broker.png'; set logscale xy; set xlabel 'size (KiB)';
			set ylabel 'median µs'; set title 'Allocate+Release through bufbrokerd vs direct ioctl';
			plot '$g/broker.csv' every ::1 using (\$1/1024):3 with linespoints title 'direct',
			'$g/broker.csv' every ::1 using (\$1/1024):5 with linespoints title 'broker (session)',
			'$g/broker.csv' every ::1 using (\$1/1024):7 with linespoints title 'broker (dbus-daemon)',
			${rtt:-0} with lines dashtype 2 title 'D-Bus round trip (Get Version)'" 2>>"$dir/gnuplot.log"
	fi
	if [ -s "$g/scale.csv" ]; then
		gnuplot -e "$common; set output '$dir/scale.png'; set logscale x 2; set logscale y; set xlabel 'clients';
			set ylabel 'latency µs'; set y2label 'ops/s'; set y2tics; set ytics nomirror;
			set title 'Scale: Allocate+Release 64 KiB, concurrent client processes';
			plot '< grep -v ,bus\$ $g/scale.csv' every ::1 using 1:6 with linespoints title 'p50 (session)',
			'< grep -v ,bus\$ $g/scale.csv' every ::1 using 1:7 with linespoints title 'p99 (session)',
			'< grep -v ,bus\$ $g/scale.csv' every ::1 using 1:5 axes x1y2 with linespoints title 'ops/s (session)',
			'< grep ,bus\$ $g/scale.csv' using 1:7 with linespoints title 'p99 (dbus-daemon)',
			'< grep ,bus\$ $g/scale.csv' using 1:5 axes x1y2 with linespoints title 'ops/s (dbus-daemon)'" 2>>"$dir/gnuplot.log"
	fi
	if [ -s "$g/pressure.csv" ]; then
		{
			awk -F, 'NR > 1 { printf "direct-%s,%s,%s,%s\n", $1, $6, $7, $8 }' "$g/pressure.csv"
			[ -s "$g/reserve.csv" ] && awk -F, 'NR > 1 { printf "%s-%s,%s,%s,%s\n", $2, $1, $6, $7, $8 }' "$g/reserve.csv"
		} >"$tmp/pressure.csv"
		gnuplot -e "$common; set output '$dir/pressure.png'; set style data histograms; set style fill solid 0.6;
			set logscale y; set ylabel 'µs'; set xtics rotate by -30;
			set title '4 MiB allocations, idle vs filled regions (bench: broker, benchres: broker + reserve)';
			plot '$tmp/pressure.csv' using 2:xtic(1) title 'median', '' using 3 title 'p99',
			'' using 4 title 'max'" 2>>"$dir/gnuplot.log"
	fi
fi
cat "$md"
