"""Passing a component's ``depends_on`` down to its children.

Pulumi does not do this itself: a component resource is only a container, so the resources it
was told to wait for hold back nothing it creates (pulumi/pulumi#8721). A component whose
children write into a namespace or use a CRD that the caller creates must therefore hand the
caller's ``depends_on`` to every child, or a first ``pulumi up`` races them.
"""

from __future__ import annotations

import pulumi


def inherited_depends_on(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources ``opts`` tells a component to wait for, as a list for its children.

    Only plain resources and lists of them are accepted: an Output here would hide from the
    reader which resources the children wait for.
    """
    depends_on = opts.depends_on if opts is not None else None
    if depends_on is None:
        return []
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, list) and all(isinstance(d, pulumi.Resource) for d in depends_on):
        return list(depends_on)
    raise TypeError(
        f"depends_on must be a resource or a list of resources, got {type(depends_on).__name__}"
    )
