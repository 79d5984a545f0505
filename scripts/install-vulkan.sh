#!/usr/bin/env bash
# Installs what the training plugin's `wgpu` tests need, from Debian's packages, if it is
# missing: the Vulkan loader and Mesa's Vulkan drivers, whose `lavapipe` runs Vulkan compute
# on the CPU. With them the CubeCL kernels of the fused layer (`train-surrogate/src/cube/`)
# run in CI on a machine without a GPU. Run as root or with sudo.
set -euo pipefail
need=()
compgen -G "/usr/lib/*/libvulkan.so.1" > /dev/null || need+=(libvulkan1)
compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" > /dev/null || need+=(mesa-vulkan-drivers)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-vulkan: the Vulkan loader and lavapipe are installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "install-vulkan: installing ${need[*]}"
$SUDO apt-get update -q > /dev/null || echo "install-vulkan: apt-get update failed; trying the cached package lists"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" > /dev/null
echo "install-vulkan: done"
