#!/usr/bin/env bash
# Side-by-side benchmark on the same data: `aemnist train` for N epochs and the tutorial's code in PyTorch
# (pytorch_reference.py) on exactly the same training images, both on the same number of threads.
# Prints seconds per epoch (median of epochs 2..N), the ratio (to PyTorch on the same threads, and to PyTorch's
# faster configuration: the same threads or torch.set_num_threads(1)), scoring throughput over the 10,000-image
# test file, peak memory, allocation per epoch, and the GFLOPS reached as a share of the machine's measured
# FMA peak (tests/AeMnist.Benchmarks `peak`, times the thread count). The TorchSharp columns ("ts") are aemnist's
# torch engine (LibTorch 2.10 through TorchSharp 0.107, the same spec and batches) on the same threads, and at its best
# setting: the fastest of the same threads, one thread, and the same threads with OMP_WAIT_POLICY=PASSIVE.
# Then the bottleneck model (the one-class benchmark's, its recipe: batch 128, Adam 1e-3) on the one-class training split of
# digit 2, at 1 and at 2 threads, beside the same model in PyTorch at 1 and 2 threads (its best being the faster) and on
# the torch engine; its figures are the median seconds per epoch over epochs 2..N, and its scoring throughput with each
# score over the test file and (steady) over the 60,000-image training file, where the JIT has finished tiering up.
#   bash tests/AeMnist.Benchmarks/compare.sh [EPOCHS] [THREADS] [TORCHSHARP_EPOCHS] [BOTTLENECK_EPOCHS]
#   (defaults: 20 epochs, 2 threads, TorchSharp 5 epochs: it is slow enough that 5 give a stable median; bottleneck 5
#   epochs, 0 to skip it; TUTORIAL=0 skips the tutorial's models)
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-20}
threads=${2:-2}
ts_epochs=${3:-5}
bottleneck_epochs=${4:-5}
tutorial=${TUTORIAL:-1}
# With the torch engine (-p:WithTorch=true); the native figures are the same program's.
dotnet build src/AeMnist.Cli -c Release -p:WithTorch=true -v q --nologo >/dev/null
dotnet build tests/AeMnist.Benchmarks -c Release -v q --nologo >/dev/null
peak=$(dotnet tests/AeMnist.Benchmarks/bin/Release/net10.0/AeMnist.Benchmarks.dll peak | sed -E 's/.*: ([0-9.]+) GFLOPS/\1/')
aemnist="dotnet src/AeMnist.Cli/bin/Release/net10.0/aemnist.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have_torch=yes
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    have_torch=no
    echo "PyTorch is not installed, so only aemnist is measured. For the comparison install Debian's PyTorch with OpenBLAS:"
    echo "    apt-get update && apt-get install -y python3-torch libopenblas0-pthread"
fi

median_epoch() {  # median seconds per epoch over epochs 2..N of a run's history.csv
    python3 -c "import csv, statistics, sys; s = [float(r['seconds']) for r in csv.DictReader(open(sys.argv[1]))]; print(statistics.median(s[1:] or s))" "$1"
}
score_rate() {  # images per second of one `aemnist score` over the test file (measured inside the process), or - on an error
    score_rate_on data/mnist/t10k-images-idx3-ubyte.gz "$@"
}
score_rate_on() {  # the same over FILE: the training file's 60,000 images give the steady state (the JIT's tiering done)
    local line file=$1
    shift
    line=$($aemnist score "$@" -i "$file" -o "$work/scores.csv" 2>&1 >/dev/null) || true
    if [[ $line =~ \(([0-9]+)\ images/s\) ]]; then echo "${BASH_REMATCH[1]}"; else echo "-"; fi
}

if [[ $tutorial == 1 ]]; then
printf "%-6s %-10s %12s %12s %8s %14s %9s %14s %14s %12s %12s %14s %14s %10s %12s %-22s %10s %8s\n" model engine "s/epoch" "torch s/ep" speedup "torch best s/ep" speedup "score img/s" "torch img/s" "peak MB" "torch MB" "alloc B/epoch" "train GFLOPS" \
    "ts s/ep" "ts best s/ep" "ts best setting" "ts img/s" "ts MB"
for model in dense conv; do
    name=bench-$model
    # --patience high and --eval-every past the end: every epoch trains, only the last one evaluates.
    /usr/bin/time -f "%M" -o "$work/$model.rss" $aemnist train --model $model --epochs "$epochs" --threads "$threads" \
        --eval-every 1000 --patience 1000 --runs-dir "$work" --run-name $name --quiet
    ours=$(python3 - "$work/$name/run.json" "$work/$name/history.csv" "$model" <<'PY'
import csv, json, statistics, sys
run = json.load(open(sys.argv[1]))
seconds = [float(r["seconds"]) for r in csv.DictReader(open(sys.argv[2]))]
steady = seconds[1:] or seconds
# Forward FLOPs per image (2 per multiply-add): dense 784-64-32-64-784; conv 1-3-5-3-1 channels, 5x5 kernels.
forward = 2 * (784*64 + 64*32 + 32*64 + 64*784) if sys.argv[3] == "dense" else 2 * 25 * (3*576 + 15*400 + 15*400 + 3*576)
images = run["split"]["train_count"]
print(statistics.median(steady), run["timings"]["allocated_bytes_per_epoch"], 3 * forward * images / statistics.median(steady) / 1e9)
PY
)
    read -r ours_epoch ours_alloc ours_gflops <<<"$ours"
    # Scoring throughput: the best of three, measured inside the process (excludes start-up and file reading).
    best=0
    for _ in 1 2 3; do
        line=$($aemnist score --run "$work/$name" -i data/mnist/t10k-images-idx3-ubyte.gz -o "$work/scores.csv" 2>&1 >/dev/null)
        rate=$(sed -E 's/.*\(([0-9]+) images\/s\).*/\1/' <<<"$line")
        (( rate > best )) && best=$rate
    done
    torch_epoch="-"; torch_rate="-"; torch_mb="-"; speedup="-"; best_epoch="-"; best_speedup="-"
    if [[ $have_torch == yes ]]; then
        torch=$(/usr/bin/python3 tests/AeMnist.Benchmarks/pytorch_reference.py --run-json "$work/$name/run.json" \
            --model $model --epochs "$epochs" --threads "$threads")
        read -r torch_epoch torch_rate torch_mb <<<"$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['seconds_per_epoch'], round(d['score_images_per_second']), round(d['peak_rss_mb']))" "$torch")"
        # PyTorch's own best: on 2 cores, torch.set_num_threads(1) (OpenBLAS still threads its GEMMs) is often faster
        # than 2 intra-op threads on top of OpenBLAS's; the fairest comparison takes the faster of the two.
        best_epoch=$torch_epoch
        if (( threads > 1 )); then
            one=$(/usr/bin/python3 tests/AeMnist.Benchmarks/pytorch_reference.py --run-json "$work/$name/run.json" \
                --model $model --epochs "$epochs" --threads 1 | python3 -c "import json,sys; print(json.load(sys.stdin)['seconds_per_epoch'])")
            best_epoch=$(python3 -c "print(min($torch_epoch, $one))")
        fi
        speedup=$(python3 -c "print(f'{$torch_epoch / $ours_epoch:.1f}x')"); torch_epoch=$(printf "%.4f" "$torch_epoch")
        best_speedup=$(python3 -c "print(f'{$best_epoch / $ours_epoch:.1f}x')"); best_epoch=$(printf "%.4f" "$best_epoch")
    fi
    share=$(python3 -c "print(f'{$ours_gflops:.0f} ({100 * $ours_gflops / ($peak * $threads):.0f}%)')")
    # TorchSharp: aemnist's torch engine, same options, fewer epochs; same threads, one thread, and OMP_WAIT_POLICY=PASSIVE.
    ts_epoch="-"; ts_best="-"; ts_setting="-"; ts_rate="-"; ts_mb="-"
    if $aemnist train --engine torch --epochs 1 --train-normal 50 --train-anomalies 5 --test-normal 10 --test-anomalies 10 \
            --runs-dir "$work" --run-name probe-$model --quiet 2>"$work/ts.err"; then
        declare -A ts_runs=()
        for setting in "threads $threads" "threads 1" "threads $threads, OMP_WAIT_POLICY=PASSIVE"; do
            t=$(sed -E 's/threads ([0-9]+).*/\1/' <<<"$setting"); env_policy=(); [[ $setting == *PASSIVE* ]] && env_policy=(OMP_WAIT_POLICY=PASSIVE)
            ts_name=ts-$model-$RANDOM
            env "${env_policy[@]}" /usr/bin/time -f "%M" -o "$work/$ts_name.rss" $aemnist train --engine torch --model $model --epochs "$ts_epochs" --threads "$t" \
                --eval-every 1000 --patience 1000 --runs-dir "$work" --run-name $ts_name --quiet
            ts_runs[$setting]=$(median_epoch "$work/$ts_name/history.csv")
            if [[ $setting == "threads $threads" ]]; then
                ts_epoch=$(printf "%.4f" "${ts_runs[$setting]}"); ts_mb=$(( $(cat "$work/$ts_name.rss") / 1024 ))
                ts_rate=$(score_rate --run "$work/$ts_name" --engine torch --threads "$threads")
            fi
        done
        ts_setting=$(for k in "${!ts_runs[@]}"; do echo "${ts_runs[$k]} $k"; done | sort -g | head -1 | cut -d' ' -f2-)
        ts_best=$(printf "%.4f" "${ts_runs[$ts_setting]}")
        unset ts_runs
    else
        echo "torch engine not measured: $(cat "$work/ts.err")"
    fi
    printf "%-6s %-10s %12.4f %12s %8s %14s %9s %14s %14s %12d %12s %14.0f %14s %10s %12s %-22s %10s %8s\n" $model aemnist "$ours_epoch" "$torch_epoch" "$speedup" "$best_epoch" "$best_speedup" "$best" "$torch_rate" \
        $(( $(cat "$work/$model.rss") / 1024 )) "$torch_mb" "$ours_alloc" "$share" "$ts_epoch" "$ts_best" "$ts_setting" "$ts_rate" "$ts_mb"
done
fi

if (( bottleneck_epochs > 0 )); then
    # aemnist at 1 and 2 threads, interleaved with PyTorch at the same threads, then the torch engine.
    declare -A bn_ours=() bn_torch=() bn_ts=() bn_rate=() bn_steady=() bn_torch_rate=() bn_mb=()
    for t in 1 2; do
        name=bench-bottleneck-t$t
        /usr/bin/time -f "%M" -o "$work/$name.rss" $aemnist train --model bottleneck --protocol one-class --normal 2 --epochs "$bottleneck_epochs" \
            --threads "$t" --eval-every 1000 --patience 1000 --runs-dir "$work" --run-name $name --quiet
        bn_ours[$t]=$(median_epoch "$work/$name/history.csv")
        bn_mb[$t]=$(( $(cat "$work/$name.rss") / 1024 ))
        # Scoring with each score (a fixed threshold: the rate, not the flags, is measured).
        bn_rate[$t]=$(for score in mse ssim smoothed; do score_rate --run "$work/$name" --threads "$t" --score $score --threshold 1; done | paste -sd/)
        bn_steady[$t]=$(for score in mse ssim smoothed; do score_rate_on data/mnist/train-images-idx3-ubyte.gz --run "$work/$name" --threads "$t" --score $score --threshold 1; done | paste -sd/)
        bn_torch[$t]="-"; bn_torch_rate[$t]="-"
        if [[ $have_torch == yes ]]; then
            torch=$(/usr/bin/python3 tests/AeMnist.Benchmarks/pytorch_reference.py --run-json "$work/$name/run.json" \
                --model bottleneck --epochs "$bottleneck_epochs" --threads "$t")
            read -r bn_torch[$t] bn_torch_rate[$t] <<<"$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); r=d['score_images_per_second_by_score']; print(d['seconds_per_epoch'], '/'.join(str(round(r[k])) for k in ('mse','ssim','smoothed')))" "$torch")"
        fi
        bn_ts[$t]="-"
        ts_name=ts-bottleneck-t$t
        if $aemnist train --engine torch --model bottleneck --protocol one-class --normal 2 --epochs "$ts_epochs" --threads "$t" \
                --eval-every 1000 --patience 1000 --runs-dir "$work" --run-name $ts_name --quiet 2>"$work/ts.err"; then
            bn_ts[$t]=$(printf "%.4f" "$(median_epoch "$work/$ts_name/history.csv")")
        fi
    done
    images=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['split']['train_count'])" "$work/bench-bottleneck-t1/run.json")
    torch_best="-"
    [[ $have_torch == yes ]] && torch_best=$(python3 -c "print(min(${bn_torch[1]}, ${bn_torch[2]}))")
    echo
    echo "bottleneck, one-class digit 2 ($images training images), batch 128, Adam 1e-3, median s/epoch of epochs 2-$bottleneck_epochs (torch engine: of $ts_epochs)"
    echo "(torch: PyTorch 1.13 at the same threads; torch best: its faster of 1 and 2 threads; torch img/s: its forward + each score in PyTorch's conv2d, the best of three passes over the test file in the process that trained; score img/s: one aemnist score over the test file, the images after the first 256, in a fresh process; steady: the same over the 60,000-image training file, where the JIT's tiering has finished; ts: the torch engine)"
    printf "%-8s %12s %14s %16s %9s %9s %16s %28s %28s %28s %9s %9s\n" threads "aemnist s/ep" "torch s/ep" "torch best s/ep" "vs best" "vs same" "train GFLOPS" "score img/s mse/ssim/smooth" "steady img/s mse/ssim/smooth" "torch img/s mse/ssim/smooth" "ts s/ep" "peak MB"
    for t in 1 2; do
        # Training FLOPs: 3 x the forward's 2.02 M multiply-adds per image (Conv2d 1-32-64 stride 2, Linear 3136-16-3136,
        # ConvTranspose2d 64-32-1 stride 2).
        read -r vs_best vs_same gflops <<<"$(python3 - "${bn_ours[$t]}" "${bn_torch[$t]}" "$torch_best" "$images" "$peak" "$t" <<'PY'
import sys
ours, torch, best, images, peak, t = sys.argv[1:]
ours = float(ours)
ratio = lambda x: "-" if x == "-" else f"{float(x) / ours:.2f}x"
g = 3 * 2 * 2.02e6 * int(images) / ours / 1e9
print(ratio(best), ratio(torch), f"{g:.0f}({100 * g / (float(peak) * int(t)):.0f}%)")
PY
)"
        torch_s=${bn_torch[$t]}; [[ $torch_s != "-" ]] && torch_s=$(printf "%.4f" "$torch_s")
        best_s=$torch_best; [[ $best_s != "-" ]] && best_s=$(printf "%.4f" "$best_s")
        printf "%-8s %12.4f %14s %16s %9s %9s %16s %28s %28s %28s %9s %9s\n" "$t" "${bn_ours[$t]}" "$torch_s" "$best_s" "$vs_best" "$vs_same" "$gflops" \
            "${bn_rate[$t]}" "${bn_steady[$t]}" "${bn_torch_rate[$t]}" "${bn_ts[$t]}" "${bn_mb[$t]}"
    done
fi
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs)), $(nproc) cores, measured FMA peak $peak GFLOPS per core; threads: $threads; epochs: $epochs; $(date -u +%Y-%m-%d)"
