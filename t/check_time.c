#include "helpers.h"
START_TEST(placeholder_time) { ck_assert(1); }
END_TEST
int main(void) { Suite *s = suite_create("time"); TCase *tc = tcase_create("core"); tcase_add_test(tc, placeholder_time); suite_add_tcase(s, tc); return th_run(s); }
