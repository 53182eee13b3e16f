"""Tests of single components, each rendered on its own on the mock engine."""
