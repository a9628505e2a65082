#!/usr/bin/env bash
# The tutorial's experiment measured with aemnist: normal digits 5 and 1, dense and conv, five seeds each,
# tutorial settings (seed protocol, 100 epochs max, batch 512, lr 0.01, early stopping on the test split
# every 10 epochs, patience 3). Writes docs/results.md with mean ± std of F1 (both conventions) and AUROC.
#   bash docs/results.sh [SEEDS]      (default: 1 2 3 4 5; about 5 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"1 2 3 4 5"}
dotnet build src/AeMnist.Cli -c Release -v q --nologo >/dev/null
aemnist="dotnet src/AeMnist.Cli/bin/Release/net10.0/aemnist.dll"
runs=$(mktemp -d)
results=$runs/results.jsonl
for digit in 5 1; do
  for model in dense conv; do
    # The tutorial's hand-picked thresholds: 0.02 for dense, 0.002 for conv.
    tutorial_threshold=$([ $model = dense ] && echo 0.02 || echo 0.002)
    for seed in $seeds; do
      name=$model-$digit-s$seed
      $aemnist train --normal $digit --model $model --seed $seed --runs-dir "$runs" --run-name $name --quiet
      stored=$($aemnist evaluate --run "$runs/$name" --json)
      tutorial=$($aemnist evaluate --run "$runs/$name" --json --threshold $tutorial_threshold)
      epochs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['result']['epochs_run'])" "$runs/$name/run.json")
      python3 - "$digit" "$model" "$seed" "$epochs" <<PY >>"$results"
import json, sys
stored = json.loads('''$stored''')
tutorial = json.loads('''$tutorial''')
print(json.dumps({"digit": int(sys.argv[1]), "model": sys.argv[2], "seed": int(sys.argv[3]), "epochs": int(sys.argv[4]),
                  "stored": stored, "tutorial": tutorial}))
PY
      echo "done $name" >&2
    done
  done
done

python3 - "$results" "$seeds" <<'PY' > docs/results.md
import json, statistics, sys, platform, subprocess, datetime
rows = [json.loads(l) for l in open(sys.argv[1])]
def ms(values):
    values = [v for v in values if v is not None]
    if not values: return "n/a"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print("# Results: the tutorial's experiment, measured with aemnist\n")
print(f"Command: `bash docs/results.sh` (seeds {sys.argv[2]}). Machine: {cpu}, "
      f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores. Date: {datetime.date.today()}.\n")
print("Protocol: the tutorial's (seed protocol: 5,000 normal + 500 anomalous training digits; 1,000 + 1,000 test digits;")
print("100 epochs max, batch 512, Adam lr 0.01, early stopping on the test split every 10 epochs with patience 3,")
print("best checkpoint kept). F1 (normal) takes normal digits as the positive class, as the tutorial does;")
print("F1 (anomaly) takes anomalies as positive. Mean ± sample standard deviation over the seeds.\n")
print("| normal digit | model | threshold | F1 (normal) | F1 (anomaly) | AUROC | tutorial's F1 (normal) |")
print("|---|---|---|---|---|---|---|")
tutorial = {(5, "dense"): "0.76", (5, "conv"): "0.69", (1, "dense"): "0.96", (1, "conv"): "(not given)"}
for digit in (5, 1):
    for model in ("dense", "conv"):
        group = [r for r in rows if r["digit"] == digit and r["model"] == model]
        if not group: continue
        fixed = "0.02" if model == "dense" else "0.002"
        for key, label in (("tutorial", f"tutorial's {fixed}"), ("stored", "stored (contamination 0.1)")):
            print(f"| {digit} | {model} | {label} | {ms([r[key]['f1_normal'] for r in group])} | "
                  f"{ms([r[key]['f1'] for r in group])} | {ms([r[key]['auroc'] for r in group])} | "
                  f"{tutorial[(digit, model)] if key == 'tutorial' else ''} |")
print("\nAUROC does not depend on the threshold. Per run:\n")
print("| normal digit | model | seed | epochs run | F1 (normal) at tutorial's threshold | F1 (anomaly) at stored threshold | AUROC | collapsed output |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['digit']} | {r['model']} | {r['seed']} | {r['epochs']} | {r['tutorial']['f1_normal']:.3f} | "
          f"{r['stored']['f1']:.3f} | {r['stored']['auroc'] if r['stored']['auroc'] is not None else float('nan'):.3f} | "
          f"{'yes' if r['stored']['constant_output'] else 'no'} |")
collapsed = [r for r in rows if r["stored"]["constant_output"]]
print(f"\nCollapsed models (every image reconstructed as the same image: a dead final ReLU, which happens in PyTorch "
      f"with this architecture too): {len(collapsed)} of {len(rows)} runs"
      + (": " + ", ".join(f"{r['model']} digit {r['digit']} seed {r['seed']}" for r in collapsed) if collapsed else "") + ".")
PY
rm -rf "$runs"
echo "wrote docs/results.md" >&2
