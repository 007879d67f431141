"""The model of Xen: each module follows the Xen source it is named after.

* ``page_alloc`` (``xen/common/page_alloc.c``): ``HeapCore``, the host's
  state and the heap's hot steps; ``RuleSet``, the hooks of a version;
* ``heap``, ``domheap``, ``scrub`` (``page_alloc.c``): the heap's public
  calls, checked (``init_heap_pages``, ``alloc_heap_pages``, ...), the
  domheap wrappers, ``scrub_free_pages``;
* ``offline`` (``page_alloc.c``, ``sysctl.c``): ``offline_page``,
  ``online_page``, ``query_page_offline``;
* ``claims``, ``claim_accounting`` (``page_alloc.c``): the claim calls and
  the release helpers;
* ``domctl``, ``public`` (``domctl.c``, ``xen/include/public/``): the claims
  domctl's dispatch and the ABI names;
* ``memory``, ``memory_bulk`` (``xen/common/memory.c``): populate,
  increase, decrease and ``XENMEM_claim_pages``;
* ``p2m`` (``xen/arch/x86/mm/p2m.c``): the guest physmap;
* ``domain``, ``sched`` (``domain.c``, ``sched.h``): a domain's life,
  ``struct domain``;
* ``xen``, ``hosts``: ``claims.Xen`` composed from the above; ready-made hosts.

Nothing here imports from the layers above (``series``, ``toolstack``,
``review``, ``views``, ``kit``); a version of the claims series plugs in
through ``RuleSet``, registered by name.  The rules: ``docs/README.md``.
"""
