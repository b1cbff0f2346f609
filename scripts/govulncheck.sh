#!/usr/bin/env bash
# govulncheck with an allow-list and an offline fallback (docs/supply-chain.md).
#
#   scripts/govulncheck.sh [packages...]        (default ./...)
#
# Env: GOVULNCHECK (the command, default: golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION, installed in the cache),
#      VULNDB_VERSION (golang.org/x/vulndb module version used as the offline snapshot),
#      VULN_ACCEPTED (allow-list, default .ci/govulncheck-accepted.txt),
#      VULNDB_CACHE (where the snapshot is indexed, default ~/.cache/vigil).
#
# Exit 0: no finding, or every finding is in the allow-list with an expiry that
#         has not passed; also (with a WARNING) when neither the live database
#         nor the snapshot could be fetched: no network is not a finding.
# Exit 1: a finding that is not accepted (or whose acceptance expired), or
#         govulncheck failed for any reason other than an unreachable network.
set -uo pipefail
cd "$(dirname "$0")/.."

GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
ACCEPTED=${VULN_ACCEPTED:-.ci/govulncheck-accepted.txt}
CACHE=${VULNDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}
# Built once per version and Go toolchain (go run would hide govulncheck's
# exit code 3, the findings; one built by an older Go cannot type-check a
# newer standard library).
if [ -z "${GOVULNCHECK:-}" ]; then
  GOVULNCHECK="$CACHE/govulncheck-$GOVULNCHECK_VERSION-$(go env GOVERSION)/govulncheck"
  [ -x "$GOVULNCHECK" ] || GOBIN="$(dirname "$GOVULNCHECK")" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" ||
    { echo "govulncheck: cannot install golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" >&2; exit 1; }
fi
read -r -a GVC <<<"$GOVULNCHECK"
[ $# -gt 0 ] || set -- ./...

out=$(mktemp); trap 'rm -f "$out"' EXIT
net_error='dial tcp|no such host|network is unreachable|connection refused|i/o timeout|TLS handshake timeout|server misbehaving|Temporary failure in name resolution'

# run_scan [-db URL]: govulncheck's text output in $out, its exit code returned.
run_scan() { timeout 1200 "${GVC[@]}" "$@" -- "${PKGS[@]}" >"$out" 2>&1; }
PKGS=("$@")

# 1. The live Go vulnerability database (govulncheck's default), unless
#    VULNDB_SNAPSHOT_ONLY=1 (CI: the same tree gives the same answer every run;
#    the live database is for 'make lint' by hand and for releases).
if [ "${VULNDB_SNAPSHOT_ONLY:-}" = 1 ]; then
  rc=1
  echo "govulncheck: VULNDB_SNAPSHOT_ONLY=1: scanning against the pinned snapshot golang.org/x/vulndb@$VULNDB_VERSION"
else
  run_scan; rc=$?
fi
db="live database"
if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
  if [ "${VULNDB_SNAPSHOT_ONLY:-}" != 1 ]; then
    if ! grep -q 'fetching vulnerabilities' "$out" || ! grep -Eq "$net_error" "$out"; then
      cat "$out"; echo "govulncheck: failed (exit $rc), not a network problem" >&2; exit 1
    fi
    echo "WARNING: the Go vulnerability database is unreachable ($(grep -Eo "$net_error" "$out" | head -1));"
    echo "         scanning against the snapshot in golang.org/x/vulndb@$VULNDB_VERSION from the module proxy"
  fi
  # 2. The snapshot: the golang.org/x/vulndb module carries every OSV entry
  #    (data/osv); its cmd/indexdb turns them into a database govulncheck reads.
  dbdir="$CACHE/vulndb-$VULNDB_VERSION"
  if [ ! -f "$dbdir/index/db.json" ]; then
    tmp=$(mktemp -d)
    if ! (cd "$tmp" && src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p') &&
          [ -d "$src/data/osv" ] &&
          go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$tmp/db") >"$out" 2>&1; then
      if grep -Eq "$net_error" "$out"; then
        cat "$out"
        echo "WARNING: govulncheck SKIPPED: neither the vulnerability database nor its snapshot could be fetched (no network)."
        echo "         This is not a clean result; run 'make lint' where the network is reachable."
        rm -rf "$tmp"; exit 0
      fi
      cat "$out"; echo "govulncheck: building the database snapshot failed" >&2; rm -rf "$tmp"; exit 1
    fi
    mkdir -p "$CACHE" && rm -rf "$dbdir" && mv "$tmp/db" "$dbdir" && rm -rf "$tmp"
  fi
  run_scan -db "file://$dbdir"; rc=$?
  db="snapshot golang.org/x/vulndb@$VULNDB_VERSION (entries up to $(ls "$dbdir/ID" | sort -t- -k2,2n -k3,3n | tail -1 | sed -E 's/\.json(\.gz)?$//'))"
  if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then cat "$out"; echo "govulncheck: failed (exit $rc) on the snapshot" >&2; exit 1; fi
fi

# Findings: the vulnerabilities that govulncheck says the code calls (text mode
# lists them as "Vulnerability #N: ID"; exit 3). Imported-but-not-called ones
# are informational and do not fail.
mapfile -t found < <(grep -Eo '^Vulnerability #[0-9]+: GO-[0-9]{4}-[0-9]+' "$out" | awk '{print $3}' | sort -u)
if [ $rc -eq 3 ] && [ ${#found[@]} -eq 0 ]; then cat "$out"; echo "govulncheck: exit 3 but no finding parsed" >&2; exit 1; fi
grep -E '^(Your code|This scan|No vulnerabilities)' -A3 "$out" | sed 's/^/  /'
echo "govulncheck: ${#found[@]} called vulnerabilities, database: $db"

today=$(date -u +%F); bad=0
for id in "${found[@]}"; do
  line=$(grep -E "^$id[[:space:]]" "$ACCEPTED" 2>/dev/null | head -1)
  title=$(grep -A1 -E "^Vulnerability #[0-9]+: $id\$" "$out" | tail -1 | sed 's/^ *//')
  if [ -z "$line" ]; then
    echo "FINDING  $id  $title  (not in $ACCEPTED)"; bad=1; continue
  fi
  read -r _ expires reason <<<"$line"
  if [[ ! $expires =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || [ -z "$reason" ]; then
    echo "FINDING  $id  $title  (allow-list line needs: ID YYYY-MM-DD reason)"; bad=1
  elif [[ $expires < $today ]]; then
    echo "FINDING  $id  $title  (acceptance expired $expires)"; bad=1
  else
    echo "accepted $id  until $expires: $reason"
  fi
done
# Entries no longer found can be removed.
while read -r id _; do
  [[ $id =~ ^GO- ]] || continue
  printf '%s\n' "${found[@]}" | grep -qx "$id" || echo "note: $id is in $ACCEPTED but no longer found: remove it"
done < <(grep -v '^\s*#' "$ACCEPTED" 2>/dev/null)
if [ $bad -ne 0 ]; then
  echo; echo "== govulncheck output =="; cat "$out"
  echo "govulncheck: unaccepted findings: upgrade the module (or Go), or explain them in $ACCEPTED (docs/supply-chain.md)" >&2
  exit 1
fi
echo "govulncheck: OK"
