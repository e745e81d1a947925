#!/usr/bin/env bash
# Plan every case of this folder offline with real terraform and write CASE/plan.json.
# Usage: tests/terraform/plans/regen.sh [OUTDIR [CASE...]]   (default: next to each main.tf, every case)
# Needs terraform and the hashicorp/aws provider mirror (TF_PLUGIN_MIRROR, else found under /).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"
shift || true
mirror="${TF_PLUGIN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(dirname "$(find / -type d -name registry.terraform.io -not -path '/proc/*' 2>/dev/null | head -n1)")"
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for d in "$here"/*/; do cases+=("$(basename "$d")"); done
fi
for c in "${cases[@]}"; do
  mkdir -p "$work/$c" "$out/$c"
  cp "$here/$c"/*.tf "$work/$c/"
  (cd "$work/$c" && terraform init -no-color -plugin-dir "$mirror" >/dev/null \
     && terraform plan -lock=false -no-color -out=p.tfplan >/dev/null \
     && terraform show -json p.tfplan > "$out/$c/plan.json")
done
