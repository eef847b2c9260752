#!/usr/bin/env bash
# Build the handheld PWA into pwa/dist (served by `udipick serve` at /). Needs Node 20+ and npm.
set -euo pipefail
cd "$(dirname "$0")/../pwa"
npm ci --no-audit --no-fund
npm run build
