// zxhv: the calling process's root VMAR.
#ifndef ZIRCON_PROCESS_H_
#define ZIRCON_PROCESS_H_

#include <zircon/types.h>

__BEGIN_CDECLS

// Returns the handle to this process's root VMAR: the host address space, in which VMOs can be
// mapped with zx_vmar_map. As on Zircon it is one handle for the whole process: every call returns
// the same value, and closing it makes it invalid for everyone.
zx_handle_t zx_vmar_root_self(void);

__END_CDECLS

#endif  // ZIRCON_PROCESS_H_
