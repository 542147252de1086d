#!/usr/bin/env bash
# The system programs the test suite drives, installed when missing (called by `make test`).
#
#   chromium        browser tests (Playwright drives Debian's chromium)      package chromium
#   nginx           deployment tests (nginx in front of two replicas)        package nginx-light or nginx
#   envsubst        renders the nginx template as deploy/README.md does      package gettext-base
#   systemd-analyze checks the systemd units                                 package systemd
#
# With apt-get and the right to use it (root, or sudo without a password), the missing packages are
# installed. Otherwise the script says what to install and stops `make test`, except for Chromium,
# where Playwright's own download (`playwright install chromium`) is tried on machines that can
# reach it. Nothing is done when everything is there.
set -euo pipefail

venv_bin="${1:-.venv/bin}"

have_chromium() {
    [ -x "${OBSERVATOIRE_CHROMIUM:-/usr/bin/chromium}" ] && return 0
    compgen -G "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}/chromium-*/chrome-linux*/chrome" >/dev/null
}

nginx_package() {
    # Debian 12 has nginx-light (smaller); later releases only nginx.
    if apt-cache show nginx-light >/dev/null 2>&1; then echo nginx-light; else echo nginx; fi
}

missing=()
have_chromium || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=("$(nginx_package 2>/dev/null || echo nginx)")
command -v envsubst >/dev/null || missing+=(gettext-base)
command -v systemd-analyze >/dev/null || missing+=(systemd)
((${#missing[@]})) || exit 0

can_apt=false
sudo=()
if command -v apt-get >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        can_apt=true
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        can_apt=true
        sudo=(sudo -n)
    fi
fi

if $can_apt; then
    echo "make test : installation des paquets système manquants : ${missing[*]} (apt-get, 1 à 2 min)"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
    exit 0
fi

# No apt-get, or no right to use it.
if [[ " ${missing[*]} " == *" chromium "* ]] && "$venv_bin/playwright" install chromium; then
    missing=("${missing[@]/chromium/}")
fi
left=$(printf '%s ' "${missing[@]}" | xargs)
[ -z "$left" ] && exit 0
cat >&2 <<MSG
make test : il manque des programmes que les tests utilisent, et ce compte ne peut pas les installer.
Installez-les puis relancez « make test » :

    sudo apt-get install $left

(chromium : tests dans le navigateur ; nginx : tests du déploiement ; gettext-base : envsubst ;
systemd : systemd-analyze. Sans apt-get, « .venv/bin/playwright install chromium » fournit un
Chromium, et OBSERVATOIRE_CHROMIUM peut nommer un autre exécutable.)
MSG
exit 1
