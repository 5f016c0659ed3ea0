// zxhv: names of status codes.
#ifndef ZIRCON_STATUS_H_
#define ZIRCON_STATUS_H_

#include <zircon/types.h>

__BEGIN_CDECLS

// Returns the name of a status code ("ZX_OK", "ZX_ERR_INVALID_ARGS", ...), or "(UNKNOWN)".
const char* zx_status_get_string(zx_status_t status);

__END_CDECLS

#endif  // ZIRCON_STATUS_H_
