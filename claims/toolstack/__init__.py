"""Above the hypervisor: the libxc and OCaml faces, and the builders that use them."""
