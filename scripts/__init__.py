"""Repository scripts: benchmark, deploy events, project config and stack cloud checks."""
