#!/usr/bin/env bash
# The time budget on the brain sample case, on this machine's CPU: process.py without the option and with
# --time-budget 10 and 4 (each RUNS times, default 3), printing for each the whole command's wall time (start-up
# included), the case's own time from process.py's log (the budget counts from reading the case), the sampler
# settings it ran, the sCT's MAE against the phantom's ground-truth CT, and whether the sCT without the option
# is byte-identical to the one in REFERENCE (a folder of sCTs, e.g. from the commit before; optional).
#   scripts/time_budget_check.sh [RUNS] [REFERENCE]      (in the project's virtual environment)
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
reference=${2:-}
case=test/cases/brain
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "CPU: $(python -c 'from model.device import cpu_model; print(cpu_model())'), $(nproc) cores"
printf '%-10s %-4s %-9s %-9s %-34s %s\n' budget run wall_s case_s ran "MAE (HU)"
for budget in default 10 4; do
    for run in $(seq "$runs"); do
        out="$work/$budget-$run"
        args=(--input "$case" --output "$out" --device cpu)
        [[ $budget == default ]] || args+=(--time-budget "$budget")
        start=$EPOCHREALTIME
        python process.py "${args[@]}" 2>"$out.log"
        wall=$(awk "BEGIN {print $EPOCHREALTIME - $start}")
        case_s=$(sed -n 's/.*device cpu, \([0-9.]*\) s (budget.*/\1/p' "$out.log")
        ran=$(sed -n 's/.*sampled \(.*\) in .* of the case.*/\1/p' "$out.log")
        mae=$(python -m tools.evaluation --pred "$out/images/synthetic-ct" --gt "$case/ground-truth" \
              --mask "$case/images/body" 2>/dev/null | awk '$1 == "mean" {print $2}')
        printf '%-10s %-4s %-9.1f %-9s %-34s %s\n' "$budget" "$run" "$wall" "$case_s" "$ran" "$mae"
    done
    grep -h "model.budget" "$work/$budget-1.log" | sed 's/^[0-9-]* [0-9:,]* /    /' || true
done
name=$(basename "$case"/images/mri/*.mha)
if cmp -s "$work/default-1/images/synthetic-ct/$name" "$case/expected/$name"; then
    echo "without the option: byte-identical to $case/expected/"
else
    echo "without the option: not byte-identical to $case/expected/ (python -m model.compare says how far)"
fi
if [[ -n $reference ]]; then
    if cmp -s "$work/default-1/images/synthetic-ct/$name" "$reference/$name"; then
        echo "without the option: byte-identical to $reference/$name"
    else
        echo "without the option: DIFFERS from $reference/$name"
    fi
fi
