// Placeholder: replaced by the port tests.
#include <criterion/criterion.h>
Test(port, placeholder) { cr_skip_test("not written yet"); }
