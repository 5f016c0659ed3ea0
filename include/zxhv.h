// zxhv: the project's own additions to the Zircon API. Everything here is an extension; code that
// must also build on Zircon should keep to <zircon/...>.
#ifndef ZXHV_H_
#define ZXHV_H_

#include <zircon/types.h>

__BEGIN_CDECLS

// The library's version, "MAJOR.MINOR.PATCH".
const char* zxhv_version(void);

// Creates a new handle to the ROOT resource (rights ZX_DEFAULT_RESOURCE_RIGHTS) in *out.
// On Zircon a privileged process is handed this resource; here any process may ask. A ROOT
// resource can create resources of any kind with zx_resource_create, and zx_guest_create accepts
// it as well as a HYPERVISOR resource.
// Errors: ZX_ERR_INVALID_ARGS if out is NULL or not writable; ZX_ERR_NO_MEMORY.
zx_status_t zxhv_root_resource_get(zx_handle_t* out);

__END_CDECLS

#endif  // ZXHV_H_
