#!/usr/bin/env bash
# Installs what the training plugin's `wgpu` tests need, from Debian's packages, if it is
# missing: the Vulkan loader and Mesa's Vulkan drivers, whose `lavapipe` runs Vulkan compute
# on the CPU. With them the CubeCL kernels of the fused layer (`train-surrogate/src/cube/`)
# run in CI on a machine without a GPU. Run as root or with sudo.
set -euo pipefail
. "$(dirname "$0")/apt-install.sh"
need=()
compgen -G "/usr/lib/*/libvulkan.so.1" > /dev/null || need+=(libvulkan1)
compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" > /dev/null || need+=(mesa-vulkan-drivers)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-vulkan: the Vulkan loader and lavapipe are installed"
  exit 0
fi
apt_install install-vulkan "${need[@]}"
echo "install-vulkan: done"
