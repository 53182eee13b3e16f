"""The programs a stack runs: the environment itself, or a recovery drill."""
