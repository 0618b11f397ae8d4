#!/usr/bin/env bash
# External checks from ../shared/qa against a throwaway running Village (fresh SQLite, demo content):
#   fast (always):      security headers, bandit + semgrep on forum/, axe on the main pages (desktop and phone),
#                       sqlmap level 2 on search and the JSON API
#   CI_FULL=1 adds:     wapiti, Lighthouse (mobile: home, a story, compose signed in), HTML validation
# Each must report 0 findings; reviewed exceptions are listed in .ci/qa-exceptions.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# The kit lives beside the checkout (../shared/qa); a fresh clone elsewhere finds it at /work/shared/qa.
if [ -z "${QA_KIT:-}" ]; then
  for candidate in "$(cd .. && pwd)/shared/qa" /work/shared/qa; do
    [ -f "$candidate/setup.sh" ] && { QA_KIT=$candidate; break; }
  done
fi
if [ -z "${QA_KIT:-}" ] || [ ! -f "$QA_KIT/setup.sh" ]; then
  # In CI a missing kit is a failure, not a pass: the checks it runs are part of what CI promises.
  if [ "${CI:-}" = "true" ]; then
    echo "qa: FAILED - the external-check kit (shared/qa) is missing; CI must run it (set QA_KIT)" >&2
    exit 1
  fi
  echo "qa: SKIPPED - the external-check kit (shared/qa) is not on this machine; set QA_KIT to run it" >&2
  exit 0
fi
export QA_TOOLS=${QA_TOOLS:-/tmp/qa-tools}
PORT=${QA_PORT:-18701}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
OUT=$WORK/out
mkdir -p "$OUT"

bash "$QA_KIT/setup.sh" >"$WORK/setup.log" 2>&1 || { tail -20 "$WORK/setup.log"; exit 1; }

# Rate limits off on this throwaway instance only: sqlmap and wapiti send thousands of requests, and the search
# limit (30 a minute) would turn their probes into 429s that test nothing. The limits have their own tests.
export DATABASE_URL="sqlite:///$WORK/village.db" VILLAGE_INSTANCE_PATH="$WORK/instance" VILLAGE_ENV=production \
       SECRET_KEY=qa-throwaway SESSION_COOKIE_SECURE=0 RATELIMIT_ENABLED=0
.venv/bin/flask --app wsgi db upgrade >/dev/null 2>&1
.venv/bin/flask --app wsgi demo load --if-empty >/dev/null
STORY=$(.venv/bin/python -c "
from forum import create_app; from forum.extensions import db; from forum.models import Story; import sqlalchemy as sa
app = create_app()
with app.app_context(): print(db.session.scalar(sa.select(sa.func.min(Story.id))))")
.venv/bin/gunicorn -c gunicorn.conf.py -b "127.0.0.1:$PORT" -w 2 --pid "$WORK/gunicorn.pid" wsgi:app \
  >"$WORK/gunicorn.log" 2>&1 &
trap 'kill "$(cat "$WORK/gunicorn.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "$BASE/" && break; sleep 0.2; done

# A member for the signed-in checks, registered before any scan can use up the registration limit.
[ "${CI_FULL:-0}" = 1 ] && COOKIE=$(.venv/bin/python .ci/sign_in.py "$BASE")

PAGES=(/ /login /register /reset "/stories/$STORY" /tags /search?q=nursery /not-alone /support /guidelines /privacy
       /offline)
V=$QA_TOOLS/venv/bin
fails=0
check() { local name=$1; shift; echo "== $name"; if "$@" >"$OUT/$name.log" 2>&1; then grep '^SUMMARY' "$OUT/$name.log" | tail -1
  else fails=$((fails + 1)); tail -25 "$OUT/$name.log"; fi; }

check headers python3 "$QA_KIT/headers_check.py" "$BASE" "${PAGES[@]}" --dev
check static bash "$QA_KIT/static_check.sh" forum
check axe_desktop "$V/python" "$QA_KIT/axe_check.py" "$BASE" "${PAGES[@]}"
check axe_mobile "$V/python" "$QA_KIT/axe_check.py" "$BASE" "${PAGES[@]}" --mobile
check sqlmap_search bash "$QA_KIT/scan_sql.sh" "$BASE/search?q=nursery" 2
check sqlmap_api bash "$QA_KIT/scan_sql.sh" "$BASE/api/stories?tag=nurseryguilt&setting=nursery&cursor=x" 2
if [ "${CI_FULL:-0}" = 1 ]; then
  check wapiti bash "$QA_KIT/scan_web.sh" "$BASE/"
  check lighthouse_home bash "$QA_KIT/lighthouse.sh" "$BASE/" "$OUT/lh-home" mobile
  check lighthouse_story bash "$QA_KIT/lighthouse.sh" "$BASE/stories/$STORY" "$OUT/lh-story" mobile
  # The compose page is for members: the kit's script runs Lighthouse through a wrapper that adds the cookie
  # (the member was registered before wapiti, whose sign-ups use up the registration limit).
  mkdir -p "$WORK/lh-member/node/node_modules/.bin"
  printf '#!/bin/sh\nexec "%s" "$@" --extra-headers "%s"\n' "$QA_TOOLS/node/node_modules/.bin/lighthouse" \
    "$(printf '{"Cookie": "%s"}' "$COOKIE" | sed 's/"/\\"/g')" > "$WORK/lh-member/node/node_modules/.bin/lighthouse"
  chmod +x "$WORK/lh-member/node/node_modules/.bin/lighthouse"
  QA_TOOLS="$WORK/lh-member" check lighthouse_compose bash "$QA_KIT/lighthouse.sh" "$BASE/stories/new" "$OUT/lh-compose" mobile
  check html "$V/python" "$QA_KIT/html_validate.py" "$BASE" "${PAGES[@]}"
fi
echo "qa: $fails check(s) failed (logs in $OUT)"
exit "$fails"
