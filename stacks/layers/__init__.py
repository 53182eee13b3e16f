"""The layers of an environment, in the order :func:`stacks.environment.build` runs them.

Each layer is one function: it takes the settings and the typed results of the layers before
it, registers components (never bare resources; providers excepted), and returns a frozen
dataclass of what the layers after it need. docs/architecture.md shows the layers.
"""
