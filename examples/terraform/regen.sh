#!/usr/bin/env bash
# Regenerate the committed plan JSON of every example with real terraform.
#   three-tier: planned offline (skip-validation provider settings, nothing exists yet).
#   open-3306:  applied to a local moto server (change=false), then the change planned (change=true);
#               live.json is the moto account collected with `sgproof collect`, plus one ENI
#               that Terraform does not manage.
# Usage: examples/terraform/regen.sh [OUTDIR]   (default: write next to the .tf files)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"
python="${PYTHON:-$here/../../.venv/bin/python}"
mirror="${TF_PLUGIN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(dirname "$(find / -type d -name registry.terraform.io -not -path '/proc/*' 2>/dev/null | head -n1)")"
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
work="$(mktemp -d)"
moto_pid=""
cleanup() { [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

plan_json() {  # dir out.json [plan args...]
  local dir="$1" json="$2"; shift 2
  (cd "$dir" && terraform plan -lock=false -no-color -out=p.tfplan "$@" >/dev/null \
     && terraform show -json p.tfplan > "$json")
}

# --- three-tier
mkdir -p "$out/three-tier"
cp -r "$here/three-tier/." "$work/three-tier"
rm -rf "$work/three-tier/.terraform" "$work/three-tier/plan.json"
(cd "$work/three-tier" && terraform init -no-color -plugin-dir "$mirror" >/dev/null)
plan_json "$work/three-tier" "$out/three-tier/plan.json"

# --- open-3306 against moto
# a free port unless told: other runs on this machine may hold a fixed one
port="${MOTO_PORT:-$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
"$python" -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
kill -0 "$moto_pid" || { cat "$work/moto.log" >&2; exit 1; }
mkdir -p "$out/open-3306" "$work/open-3306"
cp "$here/open-3306/main.tf" "$work/open-3306/"
cd "$work/open-3306"
terraform init -no-color -plugin-dir "$mirror" >/dev/null
terraform apply -no-color -auto-approve -var "endpoint=http://127.0.0.1:$port" >/dev/null
plan_json . "$out/open-3306/plan-before.json" -var "endpoint=http://127.0.0.1:$port"
plan_json . "$out/open-3306/plan.json" -var "endpoint=http://127.0.0.1:$port" -var change=true
AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  "$python" "$here/open-3306/add_unmanaged_eni.py"
AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  "$python" -m sgproof collect --region us-east-1 --quiet --output "$out/open-3306/live.json"
