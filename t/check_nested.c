#include "helpers.h"
START_TEST(placeholder_nested) { ck_assert(1); }
END_TEST
int main(void) { Suite *s = suite_create("nested"); TCase *tc = tcase_create("core"); tcase_add_test(tc, placeholder_nested); suite_add_tcase(s, tc); return th_run(s); }
