// Placeholder: replaced by the resource tests.
#include <criterion/criterion.h>
Test(resource, placeholder) { cr_skip_test("not written yet"); }
