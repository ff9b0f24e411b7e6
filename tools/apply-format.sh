#!/usr/bin/env bash
# Brings the whole tree to biome.jsonc's style in one commit, run once by whoever merges the branches
# (a reformat on each branch would make every parallel change conflict).
# It writes the formatter's output and Biome's *safe* lint fixes only (those that cannot change behaviour);
# unsafe fixes and findings without a fix are listed at the end for a person to look at.
# Afterwards: `npm run build`, the tests, and commit the result on its own ("Apply Biome formatting").
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "$(git status --porcelain)" ] && [ "${1:-}" != "--dirty-ok" ]; then
  echo "apply-format: the work tree has uncommitted changes; commit them first (or pass --dirty-ok) so the reformat is a commit of its own." >&2
  exit 2
fi

biome=node_modules/.bin/biome
[ -x "$biome" ] || { echo "apply-format: $biome is missing; run npm ci first." >&2; exit 2; }

# `check --write` = formatter + safe lint fixes (assists are off in biome.jsonc). It exits non-zero while
# findings without a safe fix remain; those are reported by `biome ci` below instead.
"$biome" check --write --max-diagnostics=0 >/dev/null 2>&1 || true

echo "apply-format: $(git diff --shortstat)"
# What is left for a person: lint findings with no safe fix (the formatter itself leaves nothing behind).
if npm run --silent check:style; then
  echo "apply-format: npm run check:style is green."
else
  echo "apply-format: fix the findings above by hand (npx biome lint --write --unsafe shows fixes for some), then run npm run check:style." >&2
  exit 1
fi
