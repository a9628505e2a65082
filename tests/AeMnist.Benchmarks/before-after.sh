#!/usr/bin/env bash
# Speed of several commits side by side, in interleaved rounds (this machine's figures swing between runs, so a build is
# compared only with builds measured in the same rounds). Per commit and round: the tutorial's dense and conv runs
# (`train --model dense|conv --normal 5 --threads 2`, median s/epoch of epochs 2-100), the bottleneck model one-class on
# digit 2 for 5 epochs at 1 thread (median s/epoch of epochs 2-5), then `score` of the conv and bottleneck runs over the
# 10,000 test images (images/s measured inside the process; 2 threads, the default).
#   bash tests/AeMnist.Benchmarks/before-after.sh [ROUNDS] COMMIT...      e.g.  before-after.sh 3 3399123 4c4b78c HEAD
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; shift
work=$(mktemp -d)
trap 'for c in "${commits[@]}"; do git worktree remove --force "$work/build-$c" 2>/dev/null || true; done; rm -rf "$work"' EXIT
commits=("$@")
for c in "${commits[@]}"; do
    git worktree add -q --detach "$work/build-$c" "$c"
    dotnet build "$work/build-$c/src/AeMnist.Cli" -c Release -v q --nologo >/dev/null
done
median() { python3 -c "import csv, statistics, sys; s = [float(r['seconds']) for r in csv.DictReader(open(sys.argv[1]))]; print('%.4f' % statistics.median(s[1:] or s))" "$1"; }
rate() { grep -o "[0-9]* images/s" || echo "-"; }
for round in $(seq 1 "$rounds"); do
    for c in "${commits[@]}"; do
        tree=$work/build-$c
        aemnist="dotnet $tree/src/AeMnist.Cli/bin/Release/net10.0/aemnist.dll"
        runs=$work/runs-$c-$round
        mkdir -p "$runs"
        $aemnist train --model dense --normal 5 --threads 2 --runs-dir "$runs" --run-name dense --quiet >/dev/null
        $aemnist train --model conv --normal 5 --threads 2 --runs-dir "$runs" --run-name conv --quiet >/dev/null
        $aemnist train --model bottleneck --protocol one-class --normal 2 --epochs 5 --eval-every 1000 --patience 1000 \
            --threads 1 --runs-dir "$runs" --run-name bottleneck --quiet >/dev/null
        conv=$($aemnist score --run "$runs/conv" -i "$tree/data/mnist/t10k-images-idx3-ubyte.gz" -o "$runs/conv.csv" 2>&1 >/dev/null | rate)
        bottleneck=$($aemnist score --run "$runs/bottleneck" -i "$tree/data/mnist/t10k-images-idx3-ubyte.gz" -o "$runs/bottleneck.csv" 2>&1 >/dev/null | rate)
        echo "round $round $c: dense $(median "$runs/dense/history.csv") s/epoch, conv $(median "$runs/conv/history.csv") s/epoch," \
            "bottleneck $(median "$runs/bottleneck/history.csv") s/epoch; score conv $conv, bottleneck $bottleneck"
    done
done
