#include "helpers.h"
START_TEST(placeholder_io) { ck_assert(1); }
END_TEST
int main(void) { Suite *s = suite_create("io"); TCase *tc = tcase_create("core"); tcase_add_test(tc, placeholder_io); suite_add_tcase(s, tc); return th_run(s); }
