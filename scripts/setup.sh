#!/usr/bin/env bash
# Install everything mcunet-tf needs on a fresh Debian machine (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
need_apt=""
for tool in arm-none-eabi-gcc qemu-system-arm; do
  command -v "$tool" >/dev/null 2>&1 || need_apt=1
done
if [ -n "$need_apt" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm >/dev/null
fi
# espeak-ng speaks the offline KWS demo set (mcunet_tf/datasets/demo.py).
if ! command -v espeak-ng >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq espeak-ng >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e ".[train,test]"
