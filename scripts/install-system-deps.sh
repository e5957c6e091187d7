#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests and benchmarks need:
# a real JupyterHub 3.0, Jupyter server and IPython kernel (for /usr/bin/python3),
# wrk (load generator), systemd (for `systemd-analyze verify` of the unit file), redis-server (the shared
# route store of several replicas), Podman with runc (the spawner's container engine, through its
# Docker-compatible API service), BusyBox (static; the small image the engine driver's tests build) and
# Chromium (the admin page's browser tests, driven by playwright-core).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail

packages=(
  jupyterhub
  python3-jupyter-server
  jupyter-notebook
  python3-notebook
  python3-ipykernel
  wrk
  systemd
  openssl
  curl
  redis-server
  podman
  runc
  containernetworking-plugins
  slirp4netns
  uidmap
  busybox-static
  chromium
  fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "system packages: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: done"
