#!/usr/bin/env bash
# The GPU check of the ilgpu engine. Two steps, so the GPU machine needs no .NET SDK (only the NVIDIA driver):
#
#   tests/gpu/check.sh pack [DIR]      on a machine with the SDK: publishes gpucheck (the ilgpu engine's kernel and
#                                      differential tests with a small runner, and the bottleneck timing) self-contained
#                                      for linux-x64 into DIR (default tests/gpu/out), with MNIST and this script
#   DIR/check.sh run [DEVICE] [EPOCHS] [TRAIN OPTIONS]  on the GPU machine: the kernel and differential tests on DEVICE (default cuda),
#                                      then the bottleneck model trained one-class on digit 3 with the native engine and
#                                      the ilgpu engine, s/epoch and AUROC side by side (default 3 epochs)
#
# `tests/gpu/check.sh all [DEVICE] ...` does both here. Without a GPU, to check the script itself (the CPU accelerator is
# far too slow for the one-class split): tests/gpu/check.sh all cpu 1 --protocol seed --train-normal 200 --train-anomalies 20
#   --test-normal 100 --test-anomalies 100
# Record a real GPU's output, with the card's name and the date, in docs/benchmarks.md ("The ilgpu engine").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode="${1:-all}"

pack() {
    local out="${1:-$here/out}"
    local repo
    repo="$(cd "$here/../.." && pwd)"
    rm -rf "$out"
    mkdir -p "$out/data/mnist"
    dotnet publish "$repo/tests/gpu/GpuCheck" -c Release -r linux-x64 --self-contained -o "$out/gpucheck" -p:PublishTrimmed=false >/dev/null
    cp "$repo"/data/mnist/*.gz "$out/data/mnist/"
    touch "$out/AeMnist.sln"    # the tests find data/mnist beside the solution file above them
    cp "$here/check.sh" "$out/check.sh"
    echo "packed $(du -sh "$out" | cut -f1) into $out; copy it to the GPU machine and run: $out/check.sh run cuda"
}

run() {
    local device="${1:-cuda}" epochs="${2:-3}"
    shift $(( $# < 2 ? $# : 2 ))
    local exe="$here/gpucheck/gpucheck"
    [ -x "$exe" ] || { echo "check.sh: $exe is missing; run 'tests/gpu/check.sh pack' first" >&2; exit 2; }
    if [ "$device" = cuda ] && command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    fi
    echo "== kernel and differential tests on --device $device ($(date -u +%Y-%m-%d))"
    AEMNIST_GPU_DEVICE="$device" "$exe" test
    echo "== bottleneck, one-class, native vs ilgpu on --device $device"
    AEMNIST_GPU_DEVICE="$device" "$exe" bench "$epochs" "$@"
}

case "$mode" in
    pack) pack "${2:-}" ;;
    run) shift; run "$@" ;;
    all) shift; pack "$here/out"; "$here/out/check.sh" run "$@" ;;
    *) echo "usage: check.sh pack [DIR] | run [DEVICE] [EPOCHS] [TRAIN OPTIONS] | all [DEVICE] [EPOCHS] [TRAIN OPTIONS]" >&2; exit 2 ;;
esac
