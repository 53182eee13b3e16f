"""AWS components: network, encryption keys, Kubernetes cluster."""
