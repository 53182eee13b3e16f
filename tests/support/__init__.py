"""What the tests share: stack files, rendered graphs, the policy harness, chart validators."""
