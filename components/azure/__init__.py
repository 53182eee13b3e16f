"""Azure components: the off-AWS redundancy copy of the platform's backups (seed 4.1.2)."""
