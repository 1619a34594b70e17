#!/usr/bin/env bash
# A self-signed certificate for localhost in ./tls, for trying the compose stack (browsers will warn).
# DEV ONLY: in production mount a real certificate (e.g. from Let's Encrypt) at tls/fullchain.pem and
# tls/privkey.pem instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p tls
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout tls/privkey.pem -out tls/fullchain.pem
chmod 600 tls/privkey.pem
echo "wrote $(pwd)/tls/fullchain.pem and tls/privkey.pem"
