#!/usr/bin/env bash
# Browser check of the HTML report: writes the synthetic sample report (a Core test), renders report.html,
# the comparison page and every chart alone in headless Chromium, and fails on a missing or blank screenshot.
# Usage: .ci/browser-check.sh [OUT_DIR]   (default: a temporary directory, kept and printed)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-$(mktemp -d)}
mkdir -p "$out"
out=$(realpath "$out")

AEMNIST_SAMPLE_REPORT_DIR="$out" dotnet test -c Release tests/AeMnist.Core.Tests \
    --filter "FullyQualifiedName~HtmlReportTests.SampleReport_ForTheBrowserCheck" --nologo -v q

.ci/render-report.sh "$out/report.html" "$out/report.png" 1200x4400
.ci/render-report.sh "$out/compare.html" "$out/compare.png" 1200x2200
.ci/render-report.sh "$out/report.html" "$out/report-narrow.png" 760x6000
for svg in "$out"/*.svg; do
    .ci/render-report.sh "$svg" "${svg%.svg}.svg.png" 660x480
done
echo "browser-check: screenshots in $out"
