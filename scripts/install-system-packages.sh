#!/usr/bin/env bash
# Installs the system packages the compendium needs, when they are missing:
#   chromium               the browser tests (tests/test_browser.py)
#   dataset-fashion-mnist  the default profile's images, so that the data step works offline
#
# On Debian both come from apt. On Ubuntu (GitHub's hosted runners, for example) neither
# does: Ubuntu's chromium package only installs a snap, and dataset-fashion-mnist may not
# be packaged. There the script
#   - installs Playwright's own build of Chromium, with the libraries it needs, through the
#     project's .venv (`playwright install --with-deps chromium`), and links it as
#     /usr/local/bin/chromium;
#   - installs dataset-fashion-mnist only if apt knows it; otherwise it leaves the images to
#     `compendium data`, which downloads Fashion-MNIST from upstream when there is no local
#     copy and checks every file's sha256.
#
# `--dry-run` prints what would be done. OS_RELEASE, FASHION_MNIST_DIR, CHROMIUM_COMMAND and
# VENV_PYTHON change where it looks (for other layouts, and for tests/test_publishing.py).
set -euo pipefail

dry_run=false
[ "${1:-}" = "--dry-run" ] && dry_run=true
os_release=${OS_RELEASE:-/etc/os-release}
dataset_dir=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
chromium=${CHROMIUM_COMMAND:-chromium}
venv_python=${VENV_PYTHON:-.venv/bin/python}
distro=$( (. "$os_release" && echo "${ID:-unknown}") 2>/dev/null || echo unknown)

apt_packages=()
use_playwright=false
if ! command -v "$chromium" >/dev/null 2>&1; then
  if [ "$distro" = debian ]; then apt_packages+=(chromium); else use_playwright=true; fi
fi
if [ ! -f "$dataset_dir/t10k-labels-idx1-ubyte.gz" ]; then
  if [ "$distro" = debian ] || apt-cache show dataset-fashion-mnist >/dev/null 2>&1; then
    apt_packages+=(dataset-fashion-mnist)
  else
    echo "dataset-fashion-mnist is not packaged on this system ($distro): the data step" \
      "(compendium data) will download Fashion-MNIST from upstream and check its sha256"
  fi
fi
[ ${#apt_packages[@]} -eq 0 ] && ! $use_playwright && exit 0

if $dry_run; then
  [ ${#apt_packages[@]} -gt 0 ] && echo "would run: apt-get install -y ${apt_packages[*]}"
  $use_playwright && echo "would run: $venv_python -m playwright install --with-deps chromium" \
    "and link it as /usr/local/bin/chromium"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null 2>&1 || {
    echo "error: need root (or sudo) to install ${apt_packages[*]} (and Chromium's libraries)" >&2
    exit 1
  }
else
  SUDO=
fi

if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing Debian packages: ${apt_packages[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

if $use_playwright; then
  echo "no chromium package on $distro: installing Playwright's Chromium"
  "$venv_python" -m playwright install --with-deps chromium
  browser=$("$venv_python" -c 'from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    print(p.chromium.executable_path)')
  $SUDO ln -sf "$browser" /usr/local/bin/chromium
  echo "linked $browser as /usr/local/bin/chromium"
fi
