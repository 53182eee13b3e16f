"""Tests of workflows/."""
