"""Tests of components/delivery/."""
