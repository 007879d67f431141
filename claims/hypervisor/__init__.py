"""The model of Xen: each module follows the Xen source it is named after.

Nothing here imports from the layers above (``series``, ``toolstack``,
``review``, ``views``, ``kit``); a version of the claims series plugs in
through the hooks of ``claims.hypervisor.page_alloc.RuleSet``.
"""
