/* test_config.c — configuration parsing: every kind of bad line is
 * reported with its file, line, text and reason; units, quoting, save
 * lines adding up, include (and errors inside it), defaults. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kvd.h"

static char tmpdir[256];
static char cwd_before[4096];

static void setup(void)
{
    if (!getcwd(cwd_before, sizeof cwd_before)) cwd_before[0] = '\0';
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kvd-unit-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    config_defaults();
    cmd_init();
}

static void teardown(void)
{
    if (cwd_before[0] && chdir(cwd_before) != 0) perror("chdir");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) perror("rm");
    config_defaults();
}

/* Writes text to a file in tmpdir; returns its path (static buffer). */
static const char *conf(const char *name, const char *text)
{
    static char path[2][512];
    static int k;
    char *p = path[k++ & 1];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static const char *get(const char *name)
{
    static char mem[4][512];
    static int k;
    buf t;
    char *m = mem[k++ & 3];
    buf_init_static(&t, m, 512);
    const char *v = config_get_value(name, &t);
    ck_assert_ptr_nonnull(v);
    if (v != m) {
        snprintf(m, 512, "%s", v);
        buf_free(&t);
    }
    return m;
}

/* Loads a file whose 3rd line is `line`; expects the error
 * "<path>:3: '<line>': <reason>". */
static void expect_bad(const char *line, const char *reason)
{
    char text[512], want[1024], err[1024];
    snprintf(text, sizeof text, "# comment\nport 7000\n%s\nhz 20\n", line);
    const char *p = conf("bad.conf", text);
    int r = config_load_file(p, err, sizeof err);
    snprintf(want, sizeof want, "%s:3: '%s': %s", p, line, reason);
    ck_assert_msg(r == -1, "'%s' was accepted", line);
    ck_assert_str_eq(err, want);
    config_defaults();
}

START_TEST(test_bad_lines)
{
    expect_bad("nosuch 1", "Bad directive or wrong number of arguments");
    expect_bad("port", "Bad directive or wrong number of arguments");
    expect_bad("port 1 2", "Bad directive or wrong number of arguments");
    expect_bad("port x", "argument couldn't be parsed into an integer");
    expect_bad("port 65536", "argument must be between 0 and 65535 inclusive");
    expect_bad("port -1", "argument must be between 0 and 65535 inclusive");
    expect_bad("hz -1", "argument must be between 0 and 2147483647 inclusive");
    expect_bad("maxmemory 99999999999999999999", "argument must be between 0 and 9223372036854775807 inclusive");
    expect_bad("daemonize sure", "argument must be 'yes' or 'no'");
    expect_bad("loglevel all", "argument(s) must be one of the following: debug, verbose, notice, warning");
    expect_bad("supervised maybe", "argument(s) must be one of the following: upstart, systemd, auto, no");
    expect_bad("maxmemory 1xb", "argument must be a memory value");
    expect_bad("maxmemory -1", "argument must be a memory value");
    expect_bad("proto-max-bulk-len 100", "argument must be between 1048576 and 9223372036854775807 inclusive");
    expect_bad("shards 48", "argument must be a power of two");
    expect_bad("save 1 2 3", "Invalid save parameters");
    expect_bad("save a b", "Invalid save parameters");
    expect_bad("unixsocketperm 8", "argument couldn't be parsed into an octal number");
    expect_bad("requirepass \"abc", "Unbalanced quotes in configuration line");
    expect_bad("requirepass \"abc\"def", "Unbalanced quotes in configuration line");
    expect_bad("requirepass 'abc", "Unbalanced quotes in configuration line");
    expect_bad("rename-command nosuch x", "No such command in rename-command");
    expect_bad("rename-command get", "Bad directive or wrong number of arguments");
    expect_bad("include", "Bad directive or wrong number of arguments");
    expect_bad("include a b", "Bad directive or wrong number of arguments");
    expect_bad("client-output-buffer-limit normal 1 2", "Wrong number of arguments in buffer limit configuration.");
    expect_bad("client-output-buffer-limit bulk 1 2 3", "Invalid client class specified in buffer limit configuration.");
    expect_bad("client-output-buffer-limit pubsub x 2 3",
               "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
}
END_TEST

START_TEST(test_bad_include_and_missing_file)
{
    char err[1024], want[1024];
    ck_assert_int_eq(config_load_file("/nonexistent/kvd.conf", err, sizeof err), -1);
    ck_assert_str_eq(err, "cannot open config file '/nonexistent/kvd.conf': No such file or directory");
    const char *inner = conf("inner.conf", "hz 10\n\nmaxclients 0\n");
    char text[600];
    snprintf(text, sizeof text, "port 1\ninclude %s\n", inner);
    char innerpath[512];
    snprintf(innerpath, sizeof innerpath, "%s", inner);
    const char *outer = conf("outer.conf", text);
    ck_assert_int_eq(config_load_file(outer, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: 'maxclients 0': argument must be between 1 and 2147483647 inclusive",
             innerpath);
    ck_assert_str_eq(err, want);
    /* a missing include is an error on the including line */
    const char *p = conf("inc-missing.conf", "include /nonexistent/x.conf\n");
    ck_assert_int_eq(config_load_file(p, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "%s:1: 'include /nonexistent/x.conf': cannot open config file '/nonexistent/x.conf': "
             "No such file or directory", p);
    ck_assert_str_eq(err, want);
    /* a file including itself stops */
    char self[600];
    snprintf(self, sizeof self, "include %s/self.conf\n", tmpdir);
    p = conf("self.conf", self);
    ck_assert_int_eq(config_load_file(p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "include nesting too deep"));
}
END_TEST

START_TEST(test_values_units_quotes)
{
    char err[1024];
    const char *p = conf("ok.conf",
                         "# comment\n"
                         "   # indented comment\n"
                         "\n"
                         "PORT 7001\n"                 /* names are case-insensitive */
                         "maxmemory 1GB\n"
                         "thread-stack-size 512kb\n"
                         "requirepass \"a b\\\"c\\x41\"\n"
                         "logfile ''\n"
                         "protected-mode NO\n"
                         "loglevel WARNING\n"
                         "hash-max-ziplist-entries 99\n" /* alias */
                         "save 900 1\n"
                         "save 300 10\n"
                         "unixsocketperm 770\n"
                         "client-output-buffer-limit pubsub 64mb 16mb 30\n"
                         "hz 20\r\n");                 /* CRLF line */
    ck_assert_msg(config_load_file(p, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg.port, 7001);
    ck_assert_int_eq(cfg.maxmemory, 1LL << 30);
    ck_assert_str_eq(get("maxmemory"), "1073741824");
    ck_assert_int_eq(cfg.thread_stack_size, 512 * 1024);
    ck_assert_str_eq(get("requirepass"), "a b\"cA");
    ck_assert_str_eq(get("logfile"), "");
    ck_assert(!cfg.protected_mode);
    ck_assert_str_eq(get("protected-mode"), "no");
    ck_assert_int_eq(cfg.loglevel, LL_WARNING);
    ck_assert_str_eq(get("loglevel"), "warning");
    ck_assert_str_eq(get("hash-max-listpack-entries"), "99");
    ck_assert_str_eq(get("save"), "900 1 300 10");
    ck_assert_int_eq(cfg.unixsocketperm, 0770);
    ck_assert_str_eq(get("client-output-buffer-limit"),
                     "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 30");
    ck_assert_int_eq(cfg.hz, 20);
}
END_TEST

START_TEST(test_save_empty_resets_and_args_override)
{
    char err[1024];
    const char *p = conf("s.conf", "save 900 1\nsave \"\"\nsave 60 5\n");
    ck_assert_msg(config_load_file(p, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(get("save"), "60 5");
    char *argv[] = {"kvd", "--port", "7002", "--save", "", "--maxmemory", "2mb", "--bind", "127.0.0.1", "::1"};
    ck_assert_msg(config_set_from_args(10, argv, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg.port, 7002);
    ck_assert_str_eq(get("save"), "");
    ck_assert_str_eq(get("maxmemory"), "2097152");
    ck_assert_str_eq(get("bind"), "127.0.0.1 ::1");
    char *bad[] = {"kvd", "--hz", "-5"};
    ck_assert_int_eq(config_set_from_args(3, bad, 1, err, sizeof err), -1);
    ck_assert_str_eq(err, "command line: '--hz -5': argument must be between 0 and 2147483647 inclusive");
    char *stray[] = {"kvd", "port"};
    ck_assert_int_eq(config_set_from_args(2, stray, 1, err, sizeof err), -1);
    ck_assert_str_eq(err, "command line: unexpected argument 'port'");
    char *neg[] = {"kvd", "--slowlog-log-slower-than", "-1"};
    ck_assert_msg(config_set_from_args(3, neg, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg.slowlog_log_slower_than, -1);
}
END_TEST

START_TEST(test_dir_changes_directory)
{
    char err[1024], line[600];
    snprintf(line, sizeof line, "dir %s\n", tmpdir);
    const char *p = conf("d.conf", line);
    ck_assert_msg(config_load_file(p, err, sizeof err) == 0, "%s", err);
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    char real[4096];
    ck_assert_ptr_nonnull(realpath(tmpdir, real));
    ck_assert_str_eq(cwd, real);
}
END_TEST

START_TEST(test_runtime_refusals)
{
    char err[256];
    ck_assert_int_eq(config_set("port", "1", err, sizeof err, true), -1);
    ck_assert_str_eq(err, "can't set immutable config");
    ck_assert_int_eq(config_set("dir", "/tmp", err, sizeof err, true), -1);
    ck_assert_str_eq(err, "can't set protected config");
    ck_assert_int_eq(config_set("logfile", "/tmp/x", err, sizeof err, true), -1);
    ck_assert_str_eq(err, "can't set protected config");
    ck_assert_int_eq(config_set("hz", "30", err, sizeof err, true), 0);
    ck_assert_int_eq(cfg.hz, 30);
}
END_TEST

START_TEST(test_every_directive_has_a_valid_default)
{
    const char **names;
    int n = config_names(&names);
    ck_assert_int_gt(n, 80);
    for (int i = 0; i < n; i++) {
        buf t;
        buf_init_static(&t, NULL, 0);
        ck_assert_ptr_nonnull(config_get_value(names[i], &t));
        buf_free(&t);
        for (int j = 0; j < i; j++) ck_assert_msg(strcmp(names[i], names[j]) != 0, "%s twice", names[i]);
    }
}
END_TEST

Suite *make_suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bad_lines);
    tcase_add_test(tc, test_bad_include_and_missing_file);
    tcase_add_test(tc, test_values_units_quotes);
    tcase_add_test(tc, test_save_empty_resets_and_args_override);
    tcase_add_test(tc, test_dir_changes_directory);
    tcase_add_test(tc, test_runtime_refusals);
    tcase_add_test(tc, test_every_directive_has_a_valid_default);
    suite_add_tcase(s, tc);
    return s;
}
