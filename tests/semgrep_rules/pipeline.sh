#!/bin/sh
# Test target for policies/semgrep/pipeline.yml (shell), run by `semgrep --test`.
set -eu
# ruleid: pipeline-curl-pipe-shell
curl -fsSL https://get.example.com/install.sh | sh
# ruleid: pipeline-curl-pipe-shell
wget -qO- https://get.example.com/install.sh | sudo -E bash
# ok: pipeline-curl-pipe-shell
curl -fsSLo install.sh https://get.example.com/install.sh
# ok: pipeline-curl-pipe-shell
curl -fsSL https://example.com/data.json | jq .items
# ruleid: pipeline-tls-verification-disabled
curl --insecure -o tool.tgz https://downloads.example.com/tool.tgz
# ruleid: pipeline-tls-verification-disabled
curl -skL https://downloads.example.com/tool.tgz -o tool.tgz
# ruleid: pipeline-tls-verification-disabled
wget --no-check-certificate https://downloads.example.com/tool.tgz
# ok: pipeline-tls-verification-disabled
curl -sSL --cacert /etc/ssl/corp-ca.pem -o tool.tgz https://downloads.example.com/tool.tgz
# ruleid: pipeline-secret-echoed
echo "deploying with $DEPLOY_TOKEN"
# ruleid: pipeline-secret-echoed
printf '%s\n' "${DB_PASSWORD}"
# ok: pipeline-secret-echoed
echo "$REGISTRY_PASSWORD" | docker login -u ci --password-stdin registry.example.com
# ok: pipeline-secret-echoed
echo "deploying $CI_COMMIT_SHA"
