"""GCP components: the analytics and AI side of the platform (seed 4.1.2)."""
