#!/usr/bin/env bash
# Zips a staged package folder (infra/scripts/package.sh stages it) and writes beside the zip what the deploy steps
# check before uploading: <zip>.sha256 (sha256sum -c format, relative name) and the package's SBOM (<name>.cdx.json).
# Usage: infra/scripts/zip-package.sh <staged folder> <output.zip>
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: zip-package.sh <staged folder> <output.zip>" >&2; exit 2; }
stage="$1"
out="$2"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
[ -f "$stage/build-info.json" ] && [ -f "$stage/sbom.cdx.json" ] || { echo "zip-package.sh: $stage is not a staged package (no build-info.json or sbom.cdx.json)" >&2; exit 1; }
command -v zip >/dev/null || { echo "zip-package.sh: 'zip' is needed (apt-get install zip)" >&2; exit 1; }

rm -f "$out" "$out.sha256"
(cd "$stage" && zip -qr "$out" .)
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")") > "$out.sha256"
cp "$stage/sbom.cdx.json" "${out%.zip}.cdx.json"
echo "== Package: $out ($(du -h "$out" | cut -f1))"
echo "SHA-256:   $out.sha256 ($(cut -d' ' -f1 "$out.sha256"))"
echo "SBOM:      ${out%.zip}.cdx.json"
echo "Verify, then publish: (cd $(dirname "$out") && sha256sum -c $(basename "$out").sha256) && az functionapp deployment source config-zip --resource-group <group> --name <functionAppName> --src $out"
