"""Placement targets: one module per target (`ec2`, `cloudrun`, `lambda_`), each a `Target` subclass.

    from docpipe.targets import get_target
    lam = get_target("lambda")
    lam.sizing(plan["enrichment"]).timeout_seconds

A module defining a `Target` subclass registers it on import; this package imports its own modules
on first use, and plug-ins installed with an entry point in the `docpipe.targets` group.
"""

from docpipe.targets.base import Target, all_targets, get_target, register, target_keys, unregister

__all__ = ["Target", "all_targets", "get_target", "register", "target_keys", "unregister"]
