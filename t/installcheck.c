/* SPDX-License-Identifier: MIT */
/* Built outside the tree against the installed library through
 * pkg-config by `make installcheck`. */
#include <fut.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    fut_rt *rt;
    fut_sleep s;
    ssize_t out = -1;

    if (fut_rt_new(&rt, NULL) != 0)
        return 1;
    if (fut_rt_block_on(rt, fut_sleep_init(&s, 0.001), &out) != 0 || out != 0)
        return 2;
    fut_drop(&s.base);
    fut_rt_free(rt);
    printf("libfut %s linked through pkg-config: ok\n", fut_version());
    return strlen(fut_version()) ? 0 : 3;
}
