// Placeholder: replaced by the guest_vmar tests.
#include <criterion/criterion.h>
Test(guest_vmar, placeholder) { cr_skip_test("not written yet"); }
