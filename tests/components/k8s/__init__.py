"""Tests of components/k8s/."""
