// Placeholder replaced by the ABI test suite.
#include <criterion/criterion.h>
#include <zircon/syscalls.h>
Test(abi, placeholder) { cr_assert_eq(ZX_OK, 0); }
