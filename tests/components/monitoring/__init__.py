"""Tests of the monitoring catalog, run against the real ``promtool``."""
