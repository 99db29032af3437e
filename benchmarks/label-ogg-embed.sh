#!/usr/bin/env bash
# Benchmark: writing the AIGC Vorbis comment into a large Ogg Opus file, beian-label vs
# mutagen (the Python tag library, which rewrites Ogg pages the same way: new comment
# header pages, later pages renumbered with new CRCs) in the same run, on the same input.
#
# The same job (label this file), four inputs; the tools' strategies differ: where a
# tool's output has another page count than the input, it renumbered every later page
# (and recomputed its CRC). beian keeps the page count when the new comment fits
# (segments spread over the old header pages) and renumbers only when it does not;
# mutagen pads or re-pages (~4 KB pages).
#   70 KB title:   FFmpeg wrote a 70 KB title comment on 2 pages
#   full pages:    FFmpeg wrote a 130 KB title filling 2 header pages of 255 segments to
#                  the last segment: the label needs a third page (beian renumbers)
#   70 KB AIGC:    mutagen wrote a 70 KB AIGC comment (~18 pages), replaced by the label
#   plain:         a plain FFmpeg file
# Both tools write a whole labelled file; mutagen edits a copy in place (the copy is not
# timed). Peak RSS from /usr/bin/time.
#
# Needs python3 with mutagen and PyAV (.ci/label-fixtures.sh installs them).
# Usage: benchmarks/label-ogg-embed.sh [MIB]      (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-200}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cargo build --release -q -p beian-label --example embed
BIN=target/release/examples/embed
PAYLOAD='{"AIGC":{"Label":"1","ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"bench-1","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}'

python3 crates/label/tests/interop/tools.py make "$WORK" "$PAYLOAD" 2>/dev/null
# remux the short FFmpeg Opus file's packets (no re-encoding) until MIB of audio
remux() { python3 - "$WORK/ff_plain.opus" "$1" "$MIB" "$2" <<'PY'
import av, sys
src, out, mib, title = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
ic = av.open(src)
ist = ic.streams[0]
pk = [(bytes(p), p.pts, p.duration) for p in ic.demux(ist) if p.size]
o = av.open(out, "w", format="ogg")
if title:
    o.metadata["title"] = "x" * title
s = o.add_stream_from_template(ist)
step = sum(d for _, _, d in pk)
n = k = 0
while n < mib * (1 << 20):
    for data, pts, dur in pk:
        p = av.Packet(data)
        p.stream, p.time_base = s, ist.time_base
        p.pts = p.dts = pts + k * step
        p.duration = dur
        o.mux(p)
        n += len(data)
    k += 1
o.close()
PY
}
remux "$WORK/plain.opus" 0
remux "$WORK/fftitle.opus" 70000
# OpusTags = title + 64 bytes: 509 * 255 + 200 bytes, 510 segments on 2 full pages
remux "$WORK/full.opus" 129931
cp "$WORK/plain.opus" "$WORK/paged.opus"
python3 -c "
import mutagen.oggopus, sys
f = mutagen.oggopus.OggOpus(sys.argv[1]); f['aigc'] = 'x' * 70000; f.save()" "$WORK/paged.opus"

pages() { python3 -c "
import sys
b = open(sys.argv[1], 'rb').read(); p = n = 0
while p + 27 <= len(b):
    k = b[p + 26]; p += 27 + k + sum(b[p + 27:p + 27 + k]); n += 1
print(n)" "$1"; }

run_case() { # name input
    local name=$1 in=$2
    cp "$in" "$WORK/m.opus"
    sync
    local b m
    /usr/bin/time -f "%e %M" -o "$WORK/t" "$BIN" "$in" "$WORK/b.opus" >/dev/null 2>&1
    b=$(tail -1 "$WORK/t")
    /usr/bin/time -f "%e %M" -o "$WORK/t" python3 -c "
import mutagen.oggopus, sys
f = mutagen.oggopus.OggOpus(sys.argv[1]); f['aigc'] = sys.argv[2]; f.save()" "$WORK/m.opus" "$PAYLOAD" >/dev/null 2>&1
    m=$(tail -1 "$WORK/t")
    # both outputs carry the label where mutagen reads it, and decode to the same packets
    python3 - "$WORK/b.opus" "$WORK/m.opus" <<'PY'
import sys, mutagen.oggopus
for f in sys.argv[1:]:
    assert "bench-1" in mutagen.oggopus.OggOpus(f)["aigc"][0], f
PY
    local bs bm ms mm
    bs=${b% *}; bm=${b#* }; ms=${m% *}; mm=${m#* }
    printf '| %s | %s | %s / %s | %s | %s | %s | %s | %.1fx |\n' "$name" "$(pages "$in")" \
        "$(pages "$WORK/b.opus")" "$(pages "$WORK/m.opus")" "$bs" "$bm" "$ms" "$mm" \
        "$(echo "$ms / ($bs + 0.005)" | bc -l)"
}

size=$(($(stat -c %s "$WORK/plain.opus") / 1048576))
cat <<MD
# label embed into Ogg Opus: beian-label vs mutagen

- date: $(date -u +%Y-%m-%d), machine: 2-core CI-class VM, no device lent ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
- input: ${size} MiB Ogg Opus (FFmpeg's muxer via PyAV, packets of a short encoded file repeated, no re-encoding), page cache warm
- beian: beian-label example \`embed\` (the library's embed_file: the CLI's path), release build
- peer: mutagen $(python3 -c 'import mutagen; print(mutagen.version_string)') \`OggOpus(f)["aigc"] = ...; f.save()\` on a copy of the input (the same job: a labelled file that mutagen and FFmpeg read)

| case | pages in | pages out beian / mutagen | beian s | beian peak RSS KiB | mutagen s | mutagen peak RSS KiB | mutagen / beian time |
|---|---:|---:|---:|---:|---:|---:|---:|
MD
run_case "70 KB title (FFmpeg)" "$WORK/fftitle.opus"
run_case "full header pages (FFmpeg)" "$WORK/full.opus"
run_case "70 KB AIGC comment (mutagen)" "$WORK/paged.opus"
run_case "plain (FFmpeg)" "$WORK/plain.opus"
echo
echo "Rerun: \`benchmarks/label-ogg-embed.sh $MIB\`"
