# Sourced by the install scripts: `apt_install WHO PACKAGE...` installs Debian packages
# (as root, or with sudo), saying so under the caller's name `WHO`.
apt_install() {
  local who=$1; shift
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  echo "$who: installing $*"
  $sudo apt-get update -q > /dev/null || echo "$who: apt-get update failed; trying the cached package lists"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@" > /dev/null
}
