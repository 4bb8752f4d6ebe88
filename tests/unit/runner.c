/* runner.c — runs every Check suite: one make_suite_<module>() per
 * tests/unit/test_<module>.c (the list is generated into suites.h).
 * CK_RUN_SUITE=store narrows to one suite; CK_FORK=no helps debugging. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define SUITE(name) Suite *make_suite_##name(void);
#include "suites.h"
#undef SUITE

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    SRunner *sr = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(sr, make_suite_##name());
#include "suites.h"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
