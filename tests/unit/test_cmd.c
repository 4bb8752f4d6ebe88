/* test_cmd.c — the command table: every row is well formed, lookup is
 * case-insensitive, key positions follow first/last/step, and COMMAND's
 * flag names. */
#include <check.h>
#include <stdlib.h>

#include "kvd.h"

static void init(void)
{
    static bool done;
    if (!done) {
        config_defaults();
        cmd_init();
        done = true;
    }
}

static void row_ok(command *c, void *ctx)
{
    int *n = ctx;
    (*n)++;
    ck_assert_ptr_nonnull(c->proc);
    ck_assert_int_ne(c->arity, 0);
    for (const char *p = c->name; *p; p++) ck_assert_msg(!(*p >= 'A' && *p <= 'Z'), "%s not lower case", c->name);
    if (c->firstkey > 0 && !c->getkeys) {
        ck_assert_int_ge(c->step, 1);
        ck_assert(c->lastkey < 0 || c->lastkey >= c->firstkey);
    }
    ck_assert_msg(!((c->flags & CMD_WRITE) && (c->flags & CMD_READONLY)), "%s: write and readonly", c->name);
    ck_assert_ptr_eq(cmd_lookup(c->name, strlen(c->name)), c);
}

START_TEST(test_table)
{
    init();
    int n = 0;
    cmd_foreach(row_ok, &n);
    ck_assert_int_eq(n, cmd_count());
    ck_assert_int_gt(n, 60);
}
END_TEST

START_TEST(test_lookup)
{
    init();
    ck_assert_ptr_nonnull(cmd_lookup("GET", 3));
    ck_assert_ptr_eq(cmd_lookup("gEt", 3), cmd_lookup("get", 3));
    ck_assert_ptr_null(cmd_lookup("nosuchcommand", 13));
    ck_assert_ptr_null(cmd_lookup("", 0));
    char longname[200];
    memset(longname, 'a', sizeof longname);
    ck_assert_ptr_null(cmd_lookup(longname, sizeof longname));
}
END_TEST

static int keys_of(const char *const *words, int n, int *keys)
{
    client c;
    memset(&c, 0, sizeof c);
    sv argv[16];
    for (int i = 0; i < n; i++) argv[i] = sv_of(words[i]);
    c.argv = argv;
    c.argc = n;
    command *cmd = cmd_lookup(words[0], strlen(words[0]));
    ck_assert_ptr_nonnull(cmd);
    return cmd_getkeys(&c, cmd, keys, 16);
}

START_TEST(test_keys)
{
    init();
    int k[16];
    const char *mset[] = {"mset", "a", "1", "b", "2", "c", "3"};
    ck_assert_int_eq(keys_of(mset, 7, k), 3);
    ck_assert(k[0] == 1 && k[1] == 3 && k[2] == 5);
    const char *del[] = {"del", "a", "b"};
    ck_assert_int_eq(keys_of(del, 3, k), 2);
    const char *get[] = {"get", "x"};
    ck_assert_int_eq(keys_of(get, 2, k), 1);
    ck_assert_int_eq(k[0], 1);
    const char *rn[] = {"rename", "x", "y"};
    ck_assert_int_eq(keys_of(rn, 3, k), 2);
    const char *ping[] = {"ping"};
    ck_assert_int_eq(keys_of(ping, 1, k), 0);
}
END_TEST

START_TEST(test_flag_names)
{
    int n;
    const char **names = cmd_flag_names(CMD_WRITE | CMD_FAST | CMD_DENYOOM, &n);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(names[0], "write");
    ck_assert_str_eq(names[1], "denyoom");
    ck_assert_str_eq(names[2], "fast");
}
END_TEST

Suite *make_suite_cmd(void);
Suite *make_suite_cmd(void)
{
    Suite *s = suite_create("cmd");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_lookup);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_flag_names);
    suite_add_tcase(s, tc);
    return s;
}
