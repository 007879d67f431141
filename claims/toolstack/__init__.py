"""Above the hypervisor: the libxc and OCaml faces, and the builders that use them.

* ``libxc`` (``xenctrl.h``), ``xenctrl`` (the OCaml binding), ``xenctrlext`` (the
  bindings XenServer's xenopsd adds);
* ``bootstorm``: many guests built at once under a seeded scheduler, by a
  libxl-style builder or by xenopsd;
* ``xenopsd``: XenServer's toolstack, its NUMA planner and VM build.
"""
