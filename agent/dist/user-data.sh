#!/bin/bash
# EC2 user data for a media node: nginx-rtmp, and the streamfleet agent
# reporting to the group named by the instance's tags. Replace the three
# values below (or template them in the launch template).
set -euo pipefail
API_URL="https://abc123.execute-api.eu-west-1.amazonaws.com"
AGENT_URL="https://example.com/releases/streamfleet-agent-aarch64-linux"   # a release build of agent/
ENROLLMENT_KEY="sfe.live-eu.1.…"   # better: read it from SSM Parameter Store here

apt-get update -q && apt-get install -y -q nginx libnginx-mod-rtmp
cat >> /etc/nginx/nginx.conf <<'NGINX'
rtmp { server { listen 1935; application live { live on; } } }
NGINX
cat > /etc/nginx/conf.d/stat.conf <<'NGINX'
server { listen 127.0.0.1:8080; location /stat { rtmp_stat all; } }
NGINX
systemctl restart nginx

# The group and role from the instance's tags (instance metadata tags enabled).
TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
tag() { curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" "http://169.254.169.254/latest/meta-data/tags/instance/$1"; }
GROUP=$(tag streamfleet:group)
ROLE=$(tag streamfleet:role)

curl -sfL "$AGENT_URL" -o /usr/local/bin/streamfleet-agent && chmod 755 /usr/local/bin/streamfleet-agent
mkdir -p /etc/streamfleet
cat > /etc/streamfleet/agent.toml <<TOML
api_url = "$API_URL"
group = "$GROUP"
role = "$ROLE"
credential = "$ENROLLMENT_KEY"
imds = true
interval_secs = 5
[endpoints]
rtmp = "rtmp://{host}:1935/{app}/{stream}"
[stats]
kind = "nginx_rtmp"
url = "http://127.0.0.1:8080/stat"
TOML
curl -sfL "${AGENT_URL%/*}/streamfleet-agent.service" -o /etc/systemd/system/streamfleet-agent.service
systemctl daemon-reload && systemctl enable --now streamfleet-agent
