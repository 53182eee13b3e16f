"""Monitoring of the TTBT2 platform: the alert catalog (seed 4.4.2, 4.5.1, 4.6) and its rules."""
