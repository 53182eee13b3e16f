"""Tests of AWS components."""
