#!/bin/sh
# Writes a .gz copy beside each text file of Streamlit's frontend, for nginx's gzip_static
# (deploy/nginx/observatoire.conf.template, location /static/): nginx then sends the compressed
# copy as it is instead of compressing 4–8 MB of JavaScript for every first-time visitor.
# Usage: sh deploy/precompress-static.sh <streamlit's static folder>   (after every pip install)
set -eu
STATIC="${1:?usage: precompress-static.sh <dossier static de Streamlit>}"
test -d "$STATIC/static" || { echo "pas de dossier $STATIC/static : est-ce le dossier static de Streamlit ?" >&2; exit 1; }
find "$STATIC/static" -type f \( -name '*.js' -o -name '*.css' -o -name '*.json' -o -name '*.svg' \
    -o -name '*.ttf' -o -name '*.map' \) -exec gzip -9 --keep --force {} +
