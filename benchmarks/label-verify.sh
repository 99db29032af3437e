#!/usr/bin/env bash
# Benchmark: `beian label verify` over 10,000 mixed files (PNG, JPEG, WebP, MP3, WAV,
# MP4; labelled, unlabelled, broken), from the page cache, against exiftool doing
# the same job (read every file's metadata, recursively, JSON out) in the same run.
# Also: peak memory when verifying a 2 GiB MP4 vs a 40 KiB one (flat in file size).
#
# Needs python3 with Pillow, mutagen and PyAV, exiftool (.ci/label-fixtures.sh installs
# them). Set BEIAN_BIN=target/release/beian to time the CLI instead of the library example.
# Usage: benchmarks/label-verify.sh [N_FILES] [THREADS]     (defaults 10000, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
THREADS=${2:-2}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -n "${BEIAN_BIN:-}" ]; then
    # a prebuilt CLI, e.g. BEIAN_BIN=target/release/beian (make sure it is current)
    BIN=("$BEIAN_BIN" label verify)
    WHAT="$BEIAN_BIN label verify --format jsonl"
else
    cargo build --release -q -p beian-label --example verify
    BIN=(target/release/examples/verify)
    WHAT="beian-label example \`verify\` (the CLI's collect + verify_paths + JSONL)"
fi

PAYLOAD='{"AIGC":{"Label":"1","ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"bench-1","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}'
mkdir -p "$WORK/seed" "$WORK/corpus"
python3 crates/label/tests/interop/tools.py make "$WORK/seed" "$PAYLOAD"
# C2PA-signed seeds (c2pa-python), when installed: their manifests are parsed too
if python3 -c "import c2pa, cryptography" 2>/dev/null; then
    python3 crates/label/tests/interop/tools.py make-c2pa "$WORK/seed"
fi
head -c 600 "$WORK/seed/pil_text.png" > "$WORK/seed/truncated.png"
head -c 3000 "$WORK/seed/mutagen_v24.mp3" > "$WORK/seed/truncated.mp3"
seeds=("$WORK"/seed/*)
for ((i = 0; i < N; i++)); do
    s=${seeds[$((i % ${#seeds[@]}))]}
    d="$WORK/corpus/d$((i % 50))"
    mkdir -p "$d"
    cp "$s" "$d/f$i.${s##*.}"
done
bytes=$(du -sb "$WORK/corpus" | cut -f1)

# warm the page cache, then time
RAYON_NUM_THREADS=$THREADS "${BIN[@]}" "$WORK/corpus" > /dev/null 2>&1
t0=$(date +%s.%N)
RAYON_NUM_THREADS=$THREADS "${BIN[@]}" "$WORK/corpus" > "$WORK/report.jsonl" 2> /dev/null
t1=$(date +%s.%N)
lines=$(wc -l < "$WORK/report.jsonl")
exiftool -fast2 -j -r -q "$WORK/corpus" > /dev/null 2>&1 || true
t2=$(date +%s.%N)
exiftool -fast2 -j -r -q "$WORK/corpus" > "$WORK/exif.json" 2> /dev/null || true
t3=$(date +%s.%N)
beian_s=$(echo "$t1 - $t0" | bc -l)
exif_s=$(echo "$t3 - $t2" | bc -l)
beian_rate=$(echo "$lines / $beian_s" | bc -l)
exif_rate=$(echo "$N / $exif_s" | bc -l)
ratio=$(echo "$beian_rate / $exif_rate" | bc -l)

# memory flat in file size: a small and a 2 GiB MP4 (sparse mdat; moov before it)
python3 - "$WORK/small.mp4" "$WORK/big.mp4" <<'PY'
import struct, sys
def box(t, b): return struct.pack(">I", len(b) + 8) + t + b
ftyp = box(b"ftyp", b"isom\0\0\0\0isom")
stco = box(b"stco", b"\0" * 4 + struct.pack(">II", 1, 0))
moov = box(b"moov", box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", stco)))))
for path, size in [(sys.argv[1], 40 << 10), (sys.argv[2], 2 << 30)]:
    with open(path, "wb") as f:
        f.write(ftyp + moov + struct.pack(">I", size + 8) + b"mdat")
        f.truncate(len(ftyp) + len(moov) + 8 + size)
PY
rss() { /usr/bin/time -f %M "${BIN[@]}" "$1" 2>&1 >/dev/null | tail -1; }
rss_small=$(rss "$WORK/small.mp4")
rss_big=$(rss "$WORK/big.mp4")

cat <<MD
# label verify: $N mixed files

- date: $(date -u +%Y-%m-%d), machine: 2-core CI-class VM, no device lent ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))
- corpus: $N files in 50 directories, $((bytes / 1024)) KiB, copies of ${#seeds[@]} seeds made by Pillow, pillow-heif (libheif), mutagen, PyAV (FFmpeg muxers), oggz-chop, Python's wave and hand-built tags (PNG, JPEG, WebP, AVIF, HEIC when pillow-heif is installed, MP4/MOV/M4A incl. fragmented, MP3, WAV, FLAC, Ogg Opus/Vorbis/FLAC, Ogg with a Skeleton stream when oggz-chop is installed, Markdown, HTML; labelled, unlabelled, payload variants, bad label, missing key, conflicting channels, truncated; C2PA-signed JPEG/PNG/WebP/MP4/WAV when c2pa-python is installed: $(ls "$WORK"/seed/c2pa_* 2>/dev/null | wc -l) seeds), page cache warm
- beian: $WHAT, RAYON_NUM_THREADS=$THREADS (the machine is shared: other builds may run during the measurement)
- peer: exiftool $(exiftool -ver) \`-fast2 -j -r\` over the same directory (reads and prints every metadata tag of every file, a superset of the label channels; single Perl process, so the ratio overstates a like-for-like gap)

| tool | files | seconds | files/s |
|---|---:|---:|---:|
| beian label verify | $lines | $(printf %.2f "$beian_s") | $(printf %.0f "$beian_rate") |
| exiftool -fast2 -j -r | $N | $(printf %.2f "$exif_s") | $(printf %.0f "$exif_rate") |

beian / exiftool throughput ratio: **$(printf %.1f "$ratio")x** (target: >= 2,000 files/s on two cores)

Peak RSS verifying one MP4: 40 KiB file: ${rss_small} KiB; 2 GiB file (sparse mdat): ${rss_big} KiB (mdat is seeked over, never read).

Rerun: \`benchmarks/label-verify.sh $N $THREADS\`
MD
