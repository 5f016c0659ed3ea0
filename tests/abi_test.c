// Placeholder: replaced by the abi tests.
#include <criterion/criterion.h>
Test(abi, placeholder) { cr_skip_test("not written yet"); }
