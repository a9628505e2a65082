#!/usr/bin/env bash
# Renders an HTML report (or an SVG) in headless Chromium and fails if the screenshot is missing or blank.
# Usage: .ci/render-report.sh REPORT.html OUT.png [WIDTHxHEIGHT]   (default 1200x4000)
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]" >&2
    exit 2
fi
input=$1
output=$2
size=${3:-1200x4000}
[[ -f $input ]] || { echo "render-report: $input not found" >&2; exit 1; }

browser=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then browser=$candidate; break; fi
done
[[ -n $browser ]] || { echo "render-report: no chromium on PATH (apt-get install -y chromium)" >&2; exit 1; }

profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
rm -f "$output"
url="file://$(realpath "$input")"

# --disable-quic and the background switches keep the browser from touching the network;
# the page itself must not need it (the report is self-contained).
if ! timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$profile" --window-size="${size/x/,}" --screenshot="$output" "$url" >"$log" 2>&1; then
    echo "render-report: $browser failed:" >&2
    cat "$log" >&2
    exit 1
fi
[[ -s $output ]] || { echo "render-report: no screenshot written" >&2; cat "$log" >&2; exit 1; }

# Not blank: decode the PNG (8-bit RGB/RGBA, what Chromium writes) and require several colours and
# some ink (pixels far from the background colour).
python3 - "$output" <<'PY'
import struct, sys, zlib
path = sys.argv[1]
data = open(path, 'rb').read()
if data[:8] != b'\x89PNG\r\n\x1a\n':
    sys.exit(f"render-report: {path} is not a PNG")
pos, idat, header = 8, b'', None
while pos < len(data):
    length, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b'IHDR':
        header = struct.unpack('>IIBBBBB', body)
    elif kind == b'IDAT':
        idat += body
    pos += 12 + length
width, height, depth, colour, _, _, interlace = header
channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
if depth != 8 or channels is None or interlace:
    sys.exit(f"render-report: unexpected PNG format (depth {depth}, colour type {colour})")
raw = zlib.decompress(idat)
stride = width * channels
rows, prev = [], bytearray(stride)
for y in range(height):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - channels] if i >= channels else 0
        b = prev[i]
        c = prev[i - channels] if i >= channels else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line))
    prev = line
colours, ink = set(), 0
background = rows[0][:3]
for y in range(0, height, 2):
    row = rows[y]
    for x in range(0, width, 2):
        px = row[x * channels:x * channels + 3]
        colours.add(px)
        if sum(abs(px[k] - background[k]) for k in range(min(3, channels))) > 96:
            ink += 1
share = ink / ((height + 1) // 2 * ((width + 1) // 2))
print(f"render-report: {path}: {width}x{height}, {len(colours)} colours, {100 * share:.2f}% ink")
if len(colours) < 8 or share < 0.002:
    sys.exit("render-report: the screenshot looks blank")
PY
