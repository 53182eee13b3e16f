"""Kubernetes components; each receives the cluster's provider from the composition."""
