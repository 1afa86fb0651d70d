#!/usr/bin/env bash
# The λβ study's full AdamW grid (25 cells × 50 initialisations, the study's 30 000 / 50 000
# steps) on a CUDA machine, with the Procrustes explanation against the exact fixed point of the
# same 50 initialisations. Usage, from the repository root:
#
#   OUT=dir bash benchmarks/run_study_cuda.sh [N ...]      # default: 50 100
#
# Writes, per n: nN.json (the `lingauss study --json` object: cells, explanation, timings),
# nN_runs.csv (one row per member), nN_explanation.csv and nN_history.npz (loss and I(X;Y)
# records); probe.md holds the step timings (benchmarks/bench_study_cuda.py; PROBE=0 skips
# it). Needs numpy, scipy, pandas, torch; the repository is put on PYTHONPATH, nothing is
# installed. BUDGET=seconds skips an n that would not fit.
set -uo pipefail
out=${OUT:-out/study_cuda}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
ns=("$@")
[ $# -eq 0 ] && ns=(50 100)
nvidia-smi -L 2>/dev/null || true
python3 -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__, "cuda", torch.cuda.is_available())'
if [ "${PROBE:-1}" != 0 ]; then
    python3 benchmarks/bench_study_cuda.py --steps 200 --warmup 20 --cpu-steps 2 --n "${ns[@]}" \
        | tee "$out/probe.md"
fi
for n in "${ns[@]}"; do
    # BUDGET (seconds since the start, optional): skip an n whose predicted training time, plus a
    # margin for the fixed-point reference grid, would not fit in what is left
    if [ -n "${BUDGET:-}" ]; then
        pred=$(awk -F'|' -v n="$n" '$2+0 == n && $4 !~ /cpu/ {print int($9 + 0.5); exit}' "$out/probe.md")
        left=$((BUDGET - SECONDS))
        if [ -z "$pred" ] || [ $((pred + 90)) -gt "$left" ]; then
            echo "n=$n skipped: predicted training ${pred:-?} s + 90 s > ${left} s left"
            continue
        fi
    fi
    tmp=$(mktemp -d)
    # one BLAS thread per fixed-point worker process (the explanation's reference grid)
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        python3 -m lingauss study lambda-beta --method adamw --n "$n" --inits 50 --device cuda \
        --jobs -1 --json --out "$tmp" >"$tmp/n$n.json" || { echo "n=$n failed"; continue; }
    cp "$tmp/n$n.json" "$out/n$n.json"
    cp "$tmp/runs.csv" "$out/n${n}_runs.csv"
    cp "$tmp/explanation.csv" "$out/n${n}_explanation.csv"
    cp "$tmp/history.npz" "$out/n${n}_history.npz"
    python3 - "$out/n$n.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
print(f"n = {o['n']}: total {o['seconds']:.1f} s, training {o['training']}")
EOF
done
