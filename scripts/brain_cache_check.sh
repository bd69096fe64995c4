#!/usr/bin/env bash
# Peak RSS and wall time of each brain stage (5 iterations, the demo config, the demo weights as the previous
# stage) on 4 and on 12 brain phantoms: with the case cache, run twice (building it, then reusing it), and,
# where BEFORE names a worktree of an older commit, that commit's code on the same data.
#
#   scripts/brain_cache_check.sh [WORKDIR] [BEFORE]      (default /tmp/brainscale; ~10 min on 2 cores)
#
# The phantoms: 12 brain cases (seeds 200-211, python -m tools.phantom), the 4-case set the first 4.
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-/tmp/brainscale}; BEFORE=${2:-}
if [ ! -d "$B/all12" ]; then
  (cd "$ROOT" && python -m tools.phantom --region brain --cases 12 --seed 200 --format mha --out "$B/all12")
  mkdir -p "$B/first4"
  find "$B/all12" -mindepth 1 -maxdepth 1 -type d | sort | head -4 | xargs -I{} cp -r {} "$B/first4/"
fi
run() {  # TREE SET STAGE LABEL [train options...]
  local tree=$1 set=$2 stage=$3 label=$4; shift 4
  local out=$B/run-$label-$stage-$set; rm -rf "$out"
  (cd "$tree" && /usr/bin/time -f "$label $set $stage peak %M KB %e s" python -m tools.train "$stage" --data "$B/$set" \
    --config configs/brain_ldm_demo.json --out "$out" --iterations 5 --device cpu "$@" > "$out.log" 2>&1) || tail -3 "$out.log"
  tail -1 "$out.log"
}
for set in first4 all12; do
  rm -rf "$B/cache-$set"
  for pass in first second; do
    run "$ROOT" $set autoencoder cache-$pass --cache "$B/cache-$set"
    run "$ROOT" $set diffusion cache-$pass --cache "$B/cache-$set" --previous "$ROOT/weights/brain"
    run "$ROOT" $set controlnet cache-$pass --cache "$B/cache-$set" --previous "$ROOT/weights/brain"
  done
  if [ -n "$BEFORE" ]; then
    run "$BEFORE" $set autoencoder before
    run "$BEFORE" $set diffusion before --previous "$ROOT/weights/brain"
    run "$BEFORE" $set controlnet before --previous "$ROOT/weights/brain"
  fi
done
