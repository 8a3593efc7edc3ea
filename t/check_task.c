#include "helpers.h"
START_TEST(placeholder_task) { ck_assert(1); }
END_TEST
int main(void) { Suite *s = suite_create("task"); TCase *tc = tcase_create("core"); tcase_add_test(tc, placeholder_task); suite_add_tcase(s, tc); return th_run(s); }
