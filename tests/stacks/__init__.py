"""Tests of stacks/."""
