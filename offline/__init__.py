"""The offline engine: the real program on the Pulumi SDK's mock engine, with the policy pack.

``python -m offline preview`` renders stacks from their real ``Pulumi.<stack>.yaml`` files;
``python -m offline check FILE.json`` evaluates the policy pack on a resource-graph file.
"""
