"""Tests of the Vault client layer (components.vault)."""
