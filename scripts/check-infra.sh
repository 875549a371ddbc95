#!/usr/bin/env bash
# The deployment templates, checked offline (no AWS account is reachable):
# the SAM template linted and validated, the CDK app type-checked, tested and
# synthesized (which builds every function with cargo-lambda), both held to
# each other and to the code (infra/contract.json), and every bootstrap
# under the size bar. `make test` runs it; it installs its own tools.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/ensure-infra-tools.sh"
venv="$root/.tools/infra-venv"
export PATH="$venv/bin:$PATH"
# sam validate wants a region and credentials, and talks to nobody with them.
export AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline
export SAM_CLI_TELEMETRY=0 CDK_DISABLE_VERSION_CHECK=1 JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1
step() { printf '\n==> %s\n' "$*"; }

step "observability: infra/observability/resources.json is what make.py writes"
before="$(cat infra/observability/resources.json)"
python3 infra/observability/make.py >/dev/null
if [ "$before" != "$(cat infra/observability/resources.json)" ]; then
  echo "infra/observability/resources.json was stale: rewritten; paste the printed snippet into the SAM template" >&2
  exit 1
fi

step "cfn-lint: the SAM template and the example node group stack (no errors allowed)"
cfn-lint --non-zero-exit-code error -- infra/sam/*.yaml infra/examples/*.yaml

step "sam validate --lint"
for template in infra/sam/*.yaml; do
  sam validate --lint --template "$template"
done

step "Lambda bootstraps: cargo lambda build --release --arm64, each under its size bar"
"$root/scripts/lambda-build.sh" --check

cd "$root/infra/cdk"
step "CDK: type check and assertion tests"
npx --no-install tsc --noEmit
npx --no-install jest --silent

step "CDK: cdk synth (bundles each function with cargo-lambda)"
rm -rf cdk.out
npx --no-install cdk synth --quiet streamfleet

cd "$root/infra/checks"
step "parity: SAM and CDK describe the same stack, the one the code needs"
"$venv/bin/python" parity.py ../sam/template.yaml ../cdk/cdk.out/streamfleet.template.json ../contract.json
CDK_TEMPLATE=../cdk/cdk.out/streamfleet.template.json "$venv/bin/python" -m unittest -q test_parity.py
