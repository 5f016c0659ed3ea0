// Placeholder: replaced by the handle tests.
#include <criterion/criterion.h>
Test(handle, placeholder) { cr_skip_test("not written yet"); }
