/* t_server.c — connection and server commands: PING, ECHO, HELLO, AUTH,
 * QUIT, RESET, CLIENT, COMMAND, INFO, CONFIG, TIME, SHUTDOWN, DEBUG,
 * MEMORY, LATENCY. */
#include "kvd.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

void config_set_command(client *c);

static void reply_help(client *c, const char *const *lines, size_t n)
{
    reply_array(c, (long)n);
    for (size_t i = 0; i < n; i++) reply_status(c, lines[i]);
}

static void unknown_sub(client *c, const char *cmd)
{
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                 (int)(c->argv[1].n > 128 ? 128 : c->argv[1].n), c->argv[1].p, cmd);
}

static void ping_command(client *c)
{
    if (c->argc > 2) {
        reply_err_arity(c, "ping");
        return;
    }
    if (c->argc == 1) reply_status(c, "PONG");
    else reply_bulk_sv(c, c->argv[1]);
}

static void echo_command(client *c) { reply_bulk_sv(c, c->argv[1]); }

static void quit_command(client *c)
{
    reply_ok(c);
    atomic_fetch_or(&c->flags, CLIENT_CLOSE_AFTER_REPLY);
}

/* Constant-time comparison of a password attempt with requirepass. */
static bool password_ok(sv attempt)
{
    buf t;
    char m[128];
    buf_init_static(&t, m, sizeof m);
    const char *pw = config_get_value("requirepass", &t);
    size_t pl = pw ? strlen(pw) : 0;
    unsigned char diff = (unsigned char)(pl != attempt.n);
    for (size_t i = 0; i < attempt.n; i++) diff |= (unsigned char)(attempt.p[i] ^ (pl ? pw[i % pl] : 0));
    bool ok = pl > 0 && diff == 0;
    buf_free(&t);
    return ok;
}

static bool have_password(void)
{
    buf t;
    char m[64];
    buf_init_static(&t, m, sizeof m);
    const char *pw = config_get_value("requirepass", &t);
    bool r = pw && pw[0];
    buf_free(&t);
    return r;
}

/* AUTH [username] password */
static void auth_command(client *c)
{
    if (c->argc > 3) {
        reply_err_syntax(c);
        return;
    }
    if (c->argc == 2 && !have_password()) {
        reply_error(c, "ERR AUTH <password> called without any password configured for the default user. "
                       "Are you sure your configuration is correct?");
        return;
    }
    sv user = c->argc == 3 ? c->argv[1] : sv_of("default");
    sv pass = c->argv[c->argc - 1];
    bool ok = sv_eqci(user, "default") && user.n == 7 && memcmp(user.p, "default", 7) == 0 &&
              (have_password() ? password_ok(pass) : true);
    if (!ok) {
        reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    c->authenticated = true;
    reply_ok(c);
}

static bool valid_name(sv n)
{
    for (size_t i = 0; i < n.n; i++)
        if (n.p[i] < '!' || n.p[i] > '~') return false;
    return true;
}

static void set_name(client *c, sv n)
{
    pthread_mutex_lock(&c->lock);
    free(c->name);
    c->name = n.n ? kvd_strndup(n.p, n.n) : NULL;
    pthread_mutex_unlock(&c->lock);
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
static void hello_command(client *c)
{
    long long ver = 0;
    int j = 1;
    if (c->argc >= 2) {
        if (!util_str2ll(c->argv[1].p, c->argv[1].n, &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
        j = 2;
    }
    sv setname = {NULL, 0};
    bool want_name = false;
    for (; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (sv_eqci(c->argv[j], "auth") && more >= 2) {
            sv user = c->argv[j + 1], pass = c->argv[j + 2];
            bool ok = user.n == 7 && memcmp(user.p, "default", 7) == 0 && (!have_password() || password_ok(pass));
            if (!ok) {
                reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            c->authenticated = true;
            j += 2;
        } else if (sv_eqci(c->argv[j], "setname") && more >= 1) {
            setname = c->argv[++j];
            want_name = true;
            if (!valid_name(setname)) {
                reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)c->argv[j].n, c->argv[j].p);
            return;
        }
    }
    if (!c->authenticated) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                       "AUTH <user> <pass> option can be used to authenticate the client and select the "
                       "RESP protocol version at the same time"); /* (Redis 7.0's words) */
        return;
    }
    if (want_name) set_name(c, setname);
    if (ver && c->proto != PROTO_TEXT) {
        pthread_mutex_lock(&c->lock);
        c->proto = (int)ver;
        pthread_mutex_unlock(&c->lock);
    }
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, KVD_REDIS_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_int(c, c->proto == PROTO_RESP3 ? 3 : 2);
    reply_bulk_cstr(c, "id");
    reply_int(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, "master");
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}


static void reset_command(client *c)
{
    block_reset_client(c);
    multi_reset_client(c);
    pubsub_reset_client(c);
    monitor_reset_client(c);
    pthread_mutex_lock(&c->lock);
    c->dbid = 0;
    c->db = &server_dbs[0];
    if (c->proto != PROTO_TEXT) c->proto = PROTO_RESP2;
    free(c->name);
    c->name = NULL;
    pthread_mutex_unlock(&c->lock);
    c->authenticated = !have_password();
    c->reply_flags &= REPLY_SKIP; /* CLIENT REPLY ON again, as Redis (but a RESET skipped
                                   * by CLIENT REPLY SKIP answers nothing) */
    atomic_fetch_and(&c->flags, ~CLIENT_REPLY_OFF);
    reply_status(c, "RESET");
}

/* ---------------------------------------------------------------- CLIENT */

/* State other features own, asked for by CLIENT LIST from another thread
 * (conn_list_lock held): they must read it with atomics or their own lock.
 * The weak defaults describe a client without subscriptions or MULTI. */
__attribute__((weak)) void pubsub_client_counts(client *c, int *sub, int *psub, int *ssub)
{
    UNUSED(c);
    *sub = *psub = *ssub = 0;
}
__attribute__((weak)) int multi_client_queued(client *c)
{
    UNUSED(c);
    return -1;
}

/* The CLIENT LIST / CLIENT INFO line of x, with Redis 7.0's fields in its
 * order (lib-name and lib-ver, from 7.2, last). me is the client asking:
 * its own line shows the command running now. conn_list_lock held. */
static void client_info_line(buf *b, client *x, client *me)
{
    int64_t now = util_mstime();
    int fl = atomic_load_explicit(&x->flags, memory_order_relaxed);
    int sub, psub, ssub;
    pubsub_client_counts(x, &sub, &psub, &ssub);
    int multi = multi_client_queued(x);
    char flags[16], *f = flags;
    if (fl & CLIENT_MONITOR) *f++ = 'O';
    if (sub + psub + ssub > 0) *f++ = 'P';
    if (multi >= 0) *f++ = 'x';
    if (fl & CLIENT_BLOCKED) *f++ = 'b';
    if (fl & CLIENT_CLOSE_AFTER_REPLY) *f++ = 'c';
    if (fl & CLIENT_CLOSE_ASAP) *f++ = 'A';
    if (fl & CLIENT_UNIX) *f++ = 'U';
    if (fl & CLIENT_NO_EVICT) *f++ = 'e';
    if (f == flags) *f++ = 'N';
    *f = '\0';
    char cmdname[96];
    size_t argvmem = 0;
    if (x == me && me->argc > 0) {
        command *cur = me->cmd ? me->cmd : me->lastcmd;
        const char *n = cur ? cur->name : "NULL";
        if (cur && cur->subs && me->argc > 1 && me->argv[1].n < 40) { /* a container: name|sub */
            int k = snprintf(cmdname, sizeof cmdname, "%s|", n);
            for (size_t i = 0; i < me->argv[1].n; i++) {
                char ch = me->argv[1].p[i];
                cmdname[k++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            }
            cmdname[k] = '\0';
        } else {
            snprintf(cmdname, sizeof cmdname, "%s", n);
        }
        for (int i = 0; i < me->argc; i++) argvmem += me->argv[i].n;
    }
    size_t omem = 0;
    pthread_mutex_lock(&x->outlock);
    omem = x->async.len;
    pthread_mutex_unlock(&x->outlock);
    pthread_mutex_lock(&x->lock);
    if (x != me) {
        if (!x->info_cmd) snprintf(cmdname, sizeof cmdname, "NULL");
        else if (x->info_sub[0]) snprintf(cmdname, sizeof cmdname, "%s|%s", x->info_cmd->name, x->info_sub);
        else snprintf(cmdname, sizeof cmdname, "%s", x->info_cmd->name);
    }
    size_t qb = x == me ? me->qbuf.len : x->info_qbuf, qbf = x == me ? me->qbuf.cap - me->qbuf.len : x->info_qbuf_free;
    buf_printf(b,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%d psub=%d "
               "ssub=%d multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu multi-mem=0 rbs=%zu rbp=%zu obl=0 "
               "oll=0 omem=%zu tot-mem=%zu events=r cmd=%s user=default redir=-1 resp=%d",
               (unsigned long long)x->id, x->addr, x->laddr, x->fd,
               x->name ? x->name : "", (long long)((now - x->ctime) / 1000),
               (long long)((now - x->last_interaction) / 1000), flags, x->dbid, sub, psub, ssub, multi, qb, qbf,
               argvmem, qb + qbf, qb, omem, qb + qbf + omem + argvmem + sizeof(client), cmdname,
               x->proto == PROTO_RESP3 ? 3 : 2);
    if (x->lib_name || x->lib_ver)
        buf_printf(b, " lib-name=%s lib-ver=%s", x->lib_name ? x->lib_name : "", x->lib_ver ? x->lib_ver : "");
    buf_appendc(b, '\n');
    pthread_mutex_unlock(&x->lock);
}

/* CLIENT LIST / KILL filters. */
typedef struct client_filter {
    client *me;
    uint64_t *ids;
    int nids;
    int type;          /* -1 any, 0 normal, 1 pubsub, 2 nothing (master/replica) */
    const char *addr, *laddr;
    bool skipme;
    bool none;         /* a filter no client can match (user other than default) */
    /* results */
    buf *out;
    int killed;
} client_filter;

static bool client_matches(client *x, client_filter *f)
{
    int fl = atomic_load_explicit(&x->flags, memory_order_relaxed);
    if (fl & CLIENT_CLOSE_ASAP) return false; /* already killed: on its way out */
    if (f->none) return false;
    if (f->nids) {
        bool hit = false;
        for (int i = 0; i < f->nids; i++)
            if (f->ids[i] == x->id) hit = true;
        if (!hit) return false;
    }
    if (f->type >= 0) {
        int sub, psub, ssub;
        pubsub_client_counts(x, &sub, &psub, &ssub);
        int t = sub + psub + ssub > 0 ? 1 : 0;
        if (f->type != t) return false;
    }
    if (f->addr && strcmp(x->addr, f->addr) != 0) return false;
    if (f->laddr && strcmp(x->laddr, f->laddr) != 0) return false;
    return true;
}

static void list_cb(client *x, void *ctx)
{
    client_filter *f = ctx;
    if (client_matches(x, f)) client_info_line(f->out, x, f->me);
}

static void kill_cb(client *x, void *ctx)
{
    client_filter *f = ctx;
    if (!client_matches(x, f)) return;
    if (f->skipme && x == f->me) return;
    if (x == f->me) {
        atomic_fetch_or(&x->flags, CLIENT_CLOSE_AFTER_REPLY);
    } else {
        atomic_fetch_or(&x->flags, CLIENT_CLOSE_ASAP);
        shutdown(x->fd, SHUT_RDWR);
        conn_wake(x); /* a client waiting in poll() notices at once */
    }
    f->killed++;
}

/* TYPE argument: 0 normal, 1 pubsub, 2 a type kvd never has; -1 bad. */
static int client_type(sv t)
{
    if (sv_eqci(t, "normal")) return 0;
    if (sv_eqci(t, "pubsub")) return 1;
    if (sv_eqci(t, "master") || sv_eqci(t, "replica") || sv_eqci(t, "slave")) return 2;
    return -1;
}

/* Subcommand arities, as Redis 7.0's command table has them. */
static const struct { const char *name; int arity; } client_sub_arity[] = {
    {"help", 2}, {"id", 2}, {"getname", 2}, {"setname", 3}, {"setinfo", 4}, {"info", 2},
    {"list", -2}, {"kill", -3}, {"no-evict", 3}, {"no-touch", 3}, {"unblock", -3}, {"reply", 3},
};

static void client_command(client *c)
{
    sv sub = c->argv[1];
    int known = -1;
    for (size_t i = 0; i < sizeof client_sub_arity / sizeof client_sub_arity[0]; i++)
        if (sv_eqci(sub, client_sub_arity[i].name)) known = (int)i;
    if (known < 0) {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.", (int)(sub.n > 128 ? 128 : sub.n), sub.p);
        return;
    }
    int ar = client_sub_arity[known].arity;
    if ((ar > 0 && c->argc != ar) || (ar < 0 && c->argc < -ar)) {
        char n[48];
        snprintf(n, sizeof n, "client|%s", client_sub_arity[known].name);
        reply_err_arity(c, n);
        return;
    }
    if (sv_eqci(sub, "help")) {
        static const char *const help[] = {
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME", "    Return the name of the current connection.",
            "ID", "    Return the ID of the current connection.",
            "INFO", "    Return information about the current client connection.",
            "KILL <ip:port>", "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
            "    * USER <username>", "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
            "    * ID <client-id>", "      Kill connections by client id.",
            "LIST [options ...]", "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
            "    * ID <client-id> [<client-id> ...]", "      Return clients of specified IDs only.",
            "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
            "SETNAME <name>", "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
            "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)", "    Will not touch LRU/LFU stats when this mode is on.",
            "HELP", "    Print this help.",
        };
        reply_help(c, help, sizeof help / sizeof help[0]);
    } else if (sv_eqci(sub, "id")) {
        reply_int(c, (long long)c->id);
    } else if (sv_eqci(sub, "getname")) {
        pthread_mutex_lock(&c->lock);
        char *n = c->name ? strdup(c->name) : NULL;
        pthread_mutex_unlock(&c->lock);
        if (n) reply_bulk_cstr(c, n);
        else reply_null(c);
        free(n);
    } else if (sv_eqci(sub, "setname")) {
        if (!valid_name(c->argv[2])) {
            reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        set_name(c, c->argv[2]);
        reply_ok(c);
    } else if (sv_eqci(sub, "setinfo")) {
        sv v = c->argv[3];
        bool name = sv_eqci(c->argv[2], "lib-name");
        if (!name && !sv_eqci(c->argv[2], "lib-ver")) {
            reply_errorf(c, "ERR Unrecognized option '%.*s'", (int)c->argv[2].n, c->argv[2].p);
            return;
        }
        if (!valid_name(v)) {
            reply_errorf(c, "ERR %s cannot contain spaces, newlines or special characters.",
                         name ? "lib-name" : "lib-ver");
            return;
        }
        pthread_mutex_lock(&c->lock);
        char **f = name ? &c->lib_name : &c->lib_ver;
        free(*f);
        *f = v.n ? kvd_strndup(v.p, v.n) : NULL;
        pthread_mutex_unlock(&c->lock);
        reply_ok(c);
    } else if (sv_eqci(sub, "info")) {
        buf b;
        buf_init_static(&b, NULL, 0);
        pthread_mutex_lock(&conn_list_lock);
        client_info_line(&b, c, c);
        pthread_mutex_unlock(&conn_list_lock);
        reply_verbatim(c, b.p, b.len, "txt");
        buf_free(&b);
    } else if (sv_eqci(sub, "list")) {
        buf b;
        buf_init_static(&b, NULL, 0);
        client_filter f = {.me = c, .type = -1, .out = &b};
        for (int j = 2; j < c->argc; j++) {
            if (sv_eqci(c->argv[j], "type") && j + 1 < c->argc) {
                sv t = c->argv[++j];
                f.type = client_type(t);
                if (f.type < 0) {
                    reply_errorf(c, "ERR Unknown client type '%.*s'", (int)t.n, t.p);
                    free(f.ids);
                    return;
                }
            } else if (sv_eqci(c->argv[j], "id") && j + 1 < c->argc) {
                f.ids = realloc(f.ids, sizeof(uint64_t) * (size_t)c->argc);
                if (!f.ids) abort();
                for (j++; j < c->argc; j++) {
                    long long v;
                    if (!util_str2ll(c->argv[j].p, c->argv[j].n, &v)) { /* (0 or less: no client, as Redis) */
                        reply_error(c, "ERR Invalid client ID");
                        free(f.ids);
                        return;
                    }
                    f.ids[f.nids++] = (uint64_t)v;
                }
            } else {
                reply_err_syntax(c);
                free(f.ids);
                return;
            }
        }
        conn_foreach(list_cb, &f);
        free(f.ids);
        reply_verbatim(c, b.p ? b.p : "", b.len, "txt");
        buf_free(&b);
    } else if (sv_eqci(sub, "kill")) {
        client_filter f = {.me = c, .type = -1, .skipme = true};
        char *addr = NULL, *laddr = NULL;
        uint64_t id = 0;
        if (c->argc == 3) {
            /* old form: CLIENT KILL addr:port, an error when nobody matched */
            addr = kvd_strndup(c->argv[2].p, c->argv[2].n);
            f.addr = addr;
            f.skipme = false;
            conn_foreach(kill_cb, &f);
            free(addr);
            if (f.killed == 0) reply_error(c, "ERR No such client");
            else reply_ok(c);
            return;
        }
        for (int j = 2; j < c->argc; j += 2) {
            if (j + 1 >= c->argc) {
                reply_err_syntax(c);
                goto kill_done;
            }
            sv k = c->argv[j], v = c->argv[j + 1];
            if (sv_eqci(k, "id")) {
                long long x;
                if (!util_str2ll(v.p, v.n, &x) || x <= 0) {
                    reply_error(c, "ERR client-id should be greater than 0");
                    goto kill_done;
                }
                id = (uint64_t)x;
                f.ids = &id;
                f.nids = 1;
            } else if (sv_eqci(k, "addr")) {
                free(addr);
                addr = kvd_strndup(v.p, v.n);
                f.addr = addr;
            } else if (sv_eqci(k, "laddr")) {
                free(laddr);
                laddr = kvd_strndup(v.p, v.n);
                f.laddr = laddr;
            } else if (sv_eqci(k, "skipme")) {
                if (sv_eqci(v, "yes")) f.skipme = true;
                else if (sv_eqci(v, "no")) f.skipme = false;
                else {
                    reply_err_syntax(c);
                    goto kill_done;
                }
            } else if (sv_eqci(k, "type")) {
                f.type = client_type(v);
                if (f.type < 0) {
                    reply_errorf(c, "ERR Unknown client type '%.*s'", (int)v.n, v.p);
                    goto kill_done;
                }
            } else if (sv_eqci(k, "user")) {
                if (!(v.n == 7 && memcmp(v.p, "default", 7) == 0)) {
                    reply_errorf(c, "ERR No such user '%.*s'", (int)v.n, v.p);
                    goto kill_done;
                }
            } else {
                reply_err_syntax(c);
                goto kill_done;
            }
        }
        conn_foreach(kill_cb, &f);
        reply_int(c, f.killed);
    kill_done:
        free(addr);
        free(laddr);
    } else if (sv_eqci(sub, "unblock")) {
        /* block.c owns blocked clients */
        if (c->argc > 4) {
            reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CLIENT HELP.",
                         (int)(sub.n > 128 ? 128 : sub.n), sub.p);
            return;
        }
        bool error = false;
        if (c->argc == 4) {
            if (sv_eqci(c->argv[3], "error")) error = true;
            else if (!sv_eqci(c->argv[3], "timeout")) {
                reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                return;
            }
        }
        long long id;
        if (!util_str2ll(c->argv[2].p, c->argv[2].n, &id)) {
            reply_err_int(c);
            return;
        }
        reply_int(c, id > 0 ? block_unblock((uint64_t)id, error) : 0);
    } else if (sv_eqci(sub, "no-evict")) {
        if (sv_eqci(c->argv[2], "on")) atomic_fetch_or(&c->flags, CLIENT_NO_EVICT);
        else if (sv_eqci(c->argv[2], "off")) atomic_fetch_and(&c->flags, ~CLIENT_NO_EVICT);
        else {
            reply_err_syntax(c);
            return;
        }
        reply_ok(c);
    } else if (sv_eqci(sub, "reply")) {
        /* OFF and SKIP answer nothing; conn.c drops the replies (a skipped
         * command's, or all while OFF) past c->reply_keep. Inside EXEC the
         * mode changes between replies, as in Redis: OFF keeps what was
         * replied before it, ON drops what was replied since (but pushes) */
        if (sv_eqci(c->argv[2], "on")) {
            if ((c->reply_flags & (REPLY_OFF | REPLY_SKIP)) && c->obuf.len > c->reply_keep) c->obuf.len = c->reply_keep;
            c->reply_flags &= (uint8_t)~(REPLY_OFF | REPLY_SKIP); /* (a SKIP to come stays, as Redis) */
            atomic_fetch_and(&c->flags, ~CLIENT_REPLY_OFF);
            reply_ok(c);
        } else if (sv_eqci(c->argv[2], "off")) {
            if (!(c->reply_flags & (REPLY_OFF | REPLY_SKIP))) c->reply_keep = c->obuf.len;
            c->reply_flags |= REPLY_OFF;
            atomic_fetch_or(&c->flags, CLIENT_REPLY_OFF); /* a monitor's feed stops too */
        } else if (sv_eqci(c->argv[2], "skip")) {
            if (!(c->reply_flags & REPLY_OFF)) c->reply_flags |= REPLY_SKIP_NEXT;
        } else {
            reply_err_syntax(c);
        }
    } else if (sv_eqci(sub, "no-touch")) { /* 7.2's; accepted, no LRU/LFU to spare yet */
        if (sv_eqci(c->argv[2], "on") || sv_eqci(c->argv[2], "off")) reply_ok(c);
        else reply_err_syntax(c);
    }
}

/* ---------------------------------------------------------------- COMMAND */

static const char *acl_group(const char *group)
{
    static const struct { const char *g, *cat; } m[] = {
        {"generic", "@keyspace"}, {"string", "@string"}, {"hash", "@hash"}, {"list", "@list"},
        {"set", "@set"}, {"sorted-set", "@sortedset"}, {"connection", "@connection"}, {"server", "@admin"},
        {"pubsub", "@pubsub"}, {"transactions", "@transaction"}, {"scripting", "@scripting"},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcmp(m[i].g, group) == 0) return m[i].cat;
    return NULL;
}

/* A command's ACL categories, space-separated: Redis's (cmdmeta.c), or
 * for a command of kvd's own derived from its flags and group (admin
 * ones are @dangerous). */
static const char *cmd_categories(const command *cmd, char *out, size_t n)
{
    const struct cmd_meta *m = cmd_meta_find(cmd->name);
    if (m) return m->acl;
    const char *g = acl_group(cmd->group ? cmd->group : "");
    bool dangerous = (cmd->flags & CMD_ADMIN) && !cmd->subs;
    snprintf(out, n, "%s%s%s %s%s%s", (cmd->flags & CMD_WRITE) ? "@write" : "@read", g ? " " : "", g ? g : "",
             (cmd->flags & CMD_FAST) ? "@fast" : "@slow", (cmd->flags & CMD_BLOCKING) ? " @blocking" : "",
             dangerous ? " @dangerous" : "");
    return out;
}

/* True if the space-separated categories cats hold @cat (any case). */
static bool has_category(const char *cats, const char *cat)
{
    size_t n = strlen(cat);
    for (const char *p = cats; (p = strchr(p, '@'));) {
        p++;
        if (strncasecmp(p, cat, n) == 0 && (p[n] == ' ' || p[n] == '\0')) return true;
    }
    return false;
}

/* Replies a set of the space-separated words of s: status replies, or bulk
 * strings (bulk), as Redis gives categories and tips. */
static void reply_words_set(client *c, const char *s, bool bulk)
{
    int n = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        n++;
        while (*p && *p != ' ') p++;
    }
    reply_set(c, n);
    for (const char *p = s; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        char w[64];
        size_t k = 0;
        while (*p && *p != ' ') {
            if (k < sizeof w - 1) w[k++] = *p;
            p++;
        }
        w[k] = '\0';
        if (bulk) reply_bulk_cstr(c, w);
        else reply_status(c, w);
    }
}

static int nsubs(const command *cmd)
{
    int n = 0;
    for (const subcommand *s = cmd->subs; s && s->name; s++) n++;
    return n;
}

/* "container|sub" of cmd's subcommand s, lower case */
static void sub_fullname(char *out, size_t n, const command *cmd, const subcommand *s)
{
    snprintf(out, n, "%s|%s", cmd->name, s->name);
}

/* A name COMMAND INFO/DOCS take: a command, or "container|sub". */
static command *lookup_full(sv name, const subcommand **sub)
{
    *sub = NULL;
    const char *bar = memchr(name.p, '|', name.n);
    if (!bar) return cmd_lookup(name.p, name.n);
    command *cmd = cmd_lookup(name.p, (size_t)(bar - name.p));
    if (!cmd || !cmd->subs || !cmd->name[0]) return NULL;
    sv rest = {bar + 1, name.n - (size_t)(bar - name.p) - 1};
    *sub = cmd_sub_find(cmd, rest);
    return *sub ? cmd : NULL;
}

/* COMMAND INFO's key specifications: none when first is 0, else one
 * range spec (index first, lastkey relative to it, or negative from the
 * end) with flags rw ("RW"/"RO") and, when access, "access" (Redis spells
 * the access kinds in lower case). */
static void reply_key_specs(client *c, int first, const char *rw, bool access, int lastkey, int step)
{
    if (!first) {
        reply_array(c, 0);
        return;
    }
    reply_array(c, 1);
    reply_map(c, 3);
    reply_bulk_cstr(c, "flags");
    reply_set(c, access ? 2 : 1);
    reply_status(c, rw);
    if (access) reply_status(c, "access");
    reply_bulk_cstr(c, "begin_search");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "index");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 1);
    reply_bulk_cstr(c, "index");
    reply_int(c, first);
    reply_bulk_cstr(c, "find_keys");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "range");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 3);
    reply_bulk_cstr(c, "lastkey");
    reply_int(c, lastkey);
    reply_bulk_cstr(c, "keystep");
    reply_int(c, step);
    reply_bulk_cstr(c, "limit");
    reply_int(c, 0);
}

static void sub_info(client *c, const command *cmd, const subcommand *s)
{
    char full[96];
    sub_fullname(full, sizeof full, cmd, s);
    reply_array(c, 10);
    reply_bulk_cstr(c, full);
    reply_int(c, s->arity);
    int nf = 0;
    const char **fl = cmd_flag_names(s->flags, &nf);
    reply_set(c, nf);
    for (int i = 0; i < nf; i++) reply_status(c, fl[i]);
    reply_int(c, s->firstkey);
    reply_int(c, s->lastkey);
    reply_int(c, s->step);
    reply_words_set(c, s->acl, false);
    reply_words_set(c, s->tips, true);
    /* OBJECT ENCODING key, MEMORY USAGE key: one key, read */
    reply_key_specs(c, s->firstkey, "RO", false, s->lastkey - s->firstkey, s->step);
    reply_array(c, 0);
}

static void command_info(client *c, command *cmd)
{
    reply_array(c, 10);
    reply_bulk_cstr(c, cmd->name);
    reply_int(c, cmd->arity);
    /* a container (CONFIG, CLIENT, OBJECT, PUBSUB...) shows no flags and
     * no keys, as Redis: its subcommands have their own. COMMAND, callable
     * alone, keeps its own. */
    bool container = cmd->subs && cmd->arity != -1;
    int nf = 0;
    const char **fl = container ? NULL : cmd_flag_names(cmd->flags, &nf);
    bool movable = cmd->getkeys != NULL && !container; /* keys found by parsing (COMMAND GETKEYS) */
    int first = container ? 0 : cmd->firstkey;
    reply_set(c, nf + movable);
    for (int i = 0; i < nf; i++) reply_status(c, fl[i]);
    if (movable) reply_status(c, "movablekeys");
    reply_int(c, first);
    reply_int(c, first ? cmd->lastkey : 0);
    reply_int(c, first ? cmd->step : 0);
    char cats[96];
    reply_words_set(c, cmd_categories(cmd, cats, sizeof cats), false);
    const struct cmd_meta *m = cmd_meta_find(cmd->name);
    reply_words_set(c, m ? m->tips : "", true);
    reply_key_specs(c, first, (cmd->flags & CMD_WRITE) ? "RW" : "RO", true,
                    cmd->lastkey < 0 ? cmd->lastkey : cmd->lastkey - cmd->firstkey, cmd->step);
    int ns = nsubs(cmd);
    reply_array(c, ns);
    for (int i = 0; i < ns; i++) sub_info(c, cmd, &cmd->subs[i]);
}

static void sub_docs(client *c, const command *cmd, const subcommand *s)
{
    char full[96];
    sub_fullname(full, sizeof full, cmd, s);
    reply_bulk_cstr(c, full);
    reply_map(c, 3);
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, s->summary);
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, s->since);
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, cmd->group ? cmd->group : "generic");
}

static void command_docs(client *c, command *cmd)
{
    int ns = nsubs(cmd);
    reply_bulk_cstr(c, cmd->name);
    reply_map(c, ns ? 4 : 3);
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, cmd->summary ? cmd->summary : "");
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, cmd->since ? cmd->since : "1.0.0");
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, cmd->group ? cmd->group : "generic");
    if (ns) {
        reply_bulk_cstr(c, "subcommands");
        reply_map(c, ns);
        for (int i = 0; i < ns; i++) sub_docs(c, cmd, &cmd->subs[i]);
    }
}

typedef struct cmdwalk {
    client *c;
    long n;
    int mode; /* 0 info, 1 docs, 2 list name */
    sv pat;
    const char *cat;
} cmdwalk;

static void walk_cb(command *cmd, void *ctx)
{
    cmdwalk *w = ctx;
    if (!cmd->name[0]) return; /* disabled by rename-command */
    if (w->mode == 2) {
        bool hidden = w->pat.p && !util_glob_match(w->pat.p, w->pat.n, cmd->name, strlen(cmd->name), true);
        char cats[96];
        if (w->cat && !hidden && !has_category(cmd_categories(cmd, cats, sizeof cats), w->cat)) hidden = true;
        if (!hidden) {
            reply_bulk_cstr(w->c, cmd->name);
            w->n++;
        }
        /* and its subcommands, as "container|sub" (Redis 7) */
        for (const subcommand *s = cmd->subs; s && s->name; s++) {
            char full[96];
            sub_fullname(full, sizeof full, cmd, s);
            if (w->pat.p && !util_glob_match(w->pat.p, w->pat.n, full, strlen(full), true)) continue;
            if (w->cat && !has_category(s->acl, w->cat)) continue;
            reply_bulk_cstr(w->c, full);
            w->n++;
        }
        return;
    } else if (w->mode == 1) {
        command_docs(w->c, cmd);
    } else {
        command_info(w->c, cmd);
    }
    w->n++;
}

static void command_command(client *c)
{
    if (c->argc == 1) {
        cmdwalk w = {c, 0, 0, {NULL, 0}, NULL};
        long h = reply_defer(c);
        cmd_foreach(walk_cb, &w);
        reply_defer_array(c, h, w.n);
        return;
    }
    sv sub = c->argv[1];
    if (sv_eqci(sub, "count") && c->argc == 2) {
        reply_int(c, cmd_count());
    } else if (sv_eqci(sub, "info")) {
        if (c->argc == 2) {
            cmdwalk w = {c, 0, 0, {NULL, 0}, NULL};
            long h = reply_defer(c);
            cmd_foreach(walk_cb, &w);
            reply_defer_array(c, h, w.n);
            return;
        }
        reply_array(c, c->argc - 2);
        for (int j = 2; j < c->argc; j++) {
            const subcommand *s;
            command *cmd = lookup_full(c->argv[j], &s);
            if (cmd && cmd->name[0] && s) sub_info(c, cmd, s);
            else if (cmd && cmd->name[0]) command_info(c, cmd);
            else reply_null_array(c);
        }
    } else if (sv_eqci(sub, "docs")) {
        if (c->argc == 2) {
            cmdwalk w = {c, 0, 1, {NULL, 0}, NULL};
            long h = reply_defer(c);
            cmd_foreach(walk_cb, &w);
            reply_defer_map(c, h, w.n);
            return;
        }
        long h = reply_defer(c);
        long n = 0;
        for (int j = 2; j < c->argc; j++) {
            const subcommand *s;
            command *cmd = lookup_full(c->argv[j], &s);
            if (!cmd || !cmd->name[0]) continue;
            if (s) sub_docs(c, cmd, s);
            else command_docs(c, cmd);
            n++;
        }
        reply_defer_map(c, h, n);
    } else if (sv_eqci(sub, "list")) {
        cmdwalk w = {c, 0, 2, {NULL, 0}, NULL};
        if (c->argc == 5 && sv_eqci(c->argv[2], "filterby")) {
            if (sv_eqci(c->argv[3], "pattern")) {
                w.pat = c->argv[4];
            } else if (sv_eqci(c->argv[3], "aclcat")) {
                static char cat[64];
                snprintf(cat, sizeof cat, "%.*s", (int)c->argv[4].n, c->argv[4].p);
                w.cat = cat;
            } else if (sv_eqci(c->argv[3], "module")) {
                reply_array(c, 0);
                return;
            } else {
                reply_err_syntax(c);
                return;
            }
        } else if (c->argc != 2) {
            reply_err_syntax(c);
            return;
        }
        long h = reply_defer(c);
        cmd_foreach(walk_cb, &w);
        reply_defer_array(c, h, w.n);
    } else if (sv_eqci(sub, "getkeys") && c->argc >= 3) {
        command *cmd = cmd_lookup(c->argv[2].p, c->argv[2].n);
        if (!cmd) {
            reply_error(c, "ERR Invalid command specified");
            return;
        }
        int argc = c->argc - 2;
        /* a container's keys are its subcommand's (OBJECT ENCODING key,
         * MEMORY USAGE key) */
        const subcommand *sc = NULL;
        if (cmd->subs && argc >= 2) {
            sc = cmd_sub_find(cmd, c->argv[3]);
            if (!sc) {
                reply_error(c, "ERR Invalid command specified");
                return;
            }
        }
        /* Redis's order: a command without keys says so before its
         * arity is looked at; a container alone has none, nor have shard
         * channels (SPUBLISH...: not keys) */
        bool has_keys = sc ? sc->firstkey > 0
                           : !cmd->subs && (cmd->firstkey > 0 || cmd->getkeys) && !(cmd->flags & CMD_PUBSUB);
        if (!has_keys) {
            reply_error(c, "ERR The command has no key arguments");
            return;
        }
        int arity = sc ? sc->arity : cmd->arity;
        if ((arity > 0 && argc != arity) || argc < -arity) {
            reply_error(c, "ERR Invalid number of arguments specified for command");
            return;
        }
        /* evaluate key positions against the shifted argument vector */
        /* (not a copy of *c: its list links change under conn_list_lock,
         * a race ThreadSanitizer reported) */
        client tmp;
        memset(&tmp, 0, sizeof tmp);
        tmp.proto = c->proto;
        tmp.dbid = c->dbid;
        tmp.db = c->db;
        tmp.argv = c->argv + 2;
        tmp.argc = argc;
        int *keys = malloc(sizeof(int) * (size_t)(argc + 1));
        cmd_keys_invalid = false;
        int n = sc ? cmd_range_keys(argc, sc->firstkey, sc->lastkey, sc->step, keys, argc)
                   : cmd_getkeys(&tmp, cmd, keys, argc);
        if (n == 0 || cmd_keys_invalid) {
            reply_error(c, "ERR Invalid arguments specified for command");
        } else {
            reply_array(c, n);
            for (int i = 0; i < n; i++) reply_bulk_sv(c, tmp.argv[keys[i]]);
        }
        free(keys);
    } else if (sv_eqci(sub, "help")) {
        static const char *const help[] = {
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)", "    Return details about all Redis commands.",
            "COUNT", "    Return the total number of commands in this Redis server.",
            "LIST", "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
            "HELP", "    Print this help.",
        };
        reply_help(c, help, sizeof help / sizeof help[0]);
    } else {
        unknown_sub(c, "COMMAND");
    }
}

/* ---------------------------------------------------------------- INFO, CONFIG, TIME */

static void info_command(client *c) { server_info(c, c->argv + 1, c->argc - 1); }

static void config_command(client *c)
{
    static const struct { const char *name; int arity; } subs[] = {
        {"get", -3}, {"set", -4}, {"resetstat", 2}, {"rewrite", 2}, {"help", 2},
    };
    sv sub = c->argv[1];
    int known = -1;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (sv_eqci(sub, subs[i].name)) known = (int)i;
    if (known < 0) {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try CONFIG HELP.", (int)(sub.n > 128 ? 128 : sub.n), sub.p);
        return;
    }
    int ar = subs[known].arity;
    if ((ar > 0 && c->argc != ar) || (ar < 0 && c->argc < -ar)) {
        char n[32];
        snprintf(n, sizeof n, "config|%s", subs[known].name);
        reply_err_arity(c, n);
        return;
    }
    if (sv_eqci(sub, "get")) {
        config_get(c, c->argv + 2, c->argc - 2);
    } else if (sv_eqci(sub, "set")) {
        config_set_command(c);
    } else if (sv_eqci(sub, "resetstat")) {
        server_reset_stats();
        reply_ok(c);
    } else if (sv_eqci(sub, "rewrite")) {
        char err[512];
        if (config_rewrite(err, sizeof err) != 0) {
            log_warning("CONFIG REWRITE failed: %s", err);
            reply_errorf(c, "ERR %s", err);
        } else {
            reply_ok(c);
        }
    } else {
        static const char *const help[] = {
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        };
        reply_help(c, help, sizeof help / sizeof help[0]);
    }
}

static void time_command(client *c)
{
    int64_t us = util_ustime();
    reply_array(c, 2);
    reply_bulk_ll(c, us / 1000000);
    reply_bulk_ll(c, us % 1000000);
}

/* ROLE: kvd is always a master with no replicas (offset 0). */
static void role_command(client *c)
{
    reply_array(c, 3);
    reply_bulk_cstr(c, "master");
    reply_int(c, 0);
    reply_array(c, 0);
}

static void shutdown_command(client *c)
{
    int flags = 0;
    for (int j = 1; j < c->argc; j++) {
        sv a = c->argv[j];
        if (sv_eqci(a, "nosave")) flags |= SHUTDOWN_NOSAVE;
        else if (sv_eqci(a, "save")) flags |= SHUTDOWN_SAVE;
        else if (sv_eqci(a, "now") || sv_eqci(a, "force")) continue;
        else if (sv_eqci(a, "abort")) {
            reply_error(c, "ERR No shutdown in progress.");
            return;
        } else {
            reply_err_syntax(c);
            return;
        }
    }
    if ((flags & SHUTDOWN_NOSAVE) && (flags & SHUTDOWN_SAVE)) {
        reply_err_syntax(c);
        return;
    }
    atomic_fetch_or(&c->flags, CLIENT_CLOSE_AFTER_REPLY);
    server_request_shutdown(flags);
}

/* ---------------------------------------------------------------- DEBUG, MEMORY, LATENCY */

static bool debug_allowed(client *c)
{
    buf t;
    char m[32];
    buf_init_static(&t, m, sizeof m);
    const char *v = config_get_value("enable-debug-command", &t);
    bool ok = v && (strcmp(v, "yes") == 0 ||
                    (strcmp(v, "local") == 0 &&
                     (strncmp(c->addr, "127.", 4) == 0 || strncmp(c->addr, "[::1]", 5) == 0 ||
                      c->addr[0] == '/')));
    buf_free(&t);
    return ok;
}

static void debug_command(client *c)
{
    if (!debug_allowed(c)) {
        reply_error(c, "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
                       "you can run it from a local connection, otherwise you need to set this option in the "
                       "configuration file, and then restart the server.");
        return;
    }
    sv sub = c->argv[1];
    long long v;
    if (sv_eqci(sub, "jump-clock") && c->argc == 3) {
        /* kvd: move the server clock forward by <ms> (TTL tests) */
        if (!util_str2ll(c->argv[2].p, c->argv[2].n, &v)) {
            reply_err_int(c);
            return;
        }
        util_clock_jump(v);
        expire_reaper_wake(); /* keys now due go at once, not next cycle */
        reply_ok(c);
    } else if (sv_eqci(sub, "set-active-expire") && c->argc == 3) {
        /* as Redis: 0 stops the reaper (lazy expiry only), 1 resumes */
        if (!util_str2ll(c->argv[2].p, c->argv[2].n, &v)) {
            reply_err_int(c);
            return;
        }
        expire_set_active(v != 0);
        reply_ok(c);
    } else if (sv_eqci(sub, "sleep") && c->argc == 3) {
        double secs;
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.*s", (int)c->argv[2].n, c->argv[2].p);
        secs = strtod(tmp, NULL);
        if (secs > 0) usleep((useconds_t)(secs * 1e6));
        reply_ok(c);
    } else if (sv_eqci(sub, "clock-offset") && c->argc == 2) {
        reply_int(c, util_clock_offset());
    } else {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try DEBUG HELP.", (int)sub.n, sub.p);
    }
}

static void memory_command(client *c)
{
    sv sub = c->argv[1];
    if (sv_eqci(sub, "usage") && (c->argc == 3 || c->argc == 5)) {
        shard *s = store_shard_of(c->db, c->argv[2]);
        shard_rdlock(s);
        entry *e = store_lookup_read(c->db, c->argv[2]);
        long long m = e ? (long long)store_entry_mem(e) : -1;
        shard_unlock(s);
        if (m < 0) reply_null(c);
        else reply_int(c, m);
    } else if (sv_eqci(sub, "doctor") && c->argc == 2) {
        reply_verbatim(c, "Hi Sam, I can't find any memory issue in your instance. I can only account for what "
                          "occurs on this base.", 98, "txt");
    } else if (sv_eqci(sub, "purge") && c->argc == 2) {
        reply_ok(c);
    } else if (sv_eqci(sub, "malloc-stats") && c->argc == 2) {
        reply_verbatim(c, "Stats not supported for the current allocator", 46, "txt");
    } else {
        unknown_sub(c, "MEMORY");
    }
}

static void latency_command(client *c)
{
    sv sub = c->argv[1];
    if (sv_eqci(sub, "doctor") && c->argc == 2) {
        const char *msg = "Dave, no latency spike was observed during the lifetime of this Redis instance, not "
                          "in the slightest bit. I honestly think you ought to sleep better.\n";
        reply_verbatim(c, msg, strlen(msg), "txt");
    } else if ((sv_eqci(sub, "latest") && c->argc == 2) || (sv_eqci(sub, "history") && c->argc == 3)) {
        reply_array(c, 0);
    } else if (sv_eqci(sub, "reset")) {
        reply_int(c, 0);
    } else {
        unknown_sub(c, "LATENCY");
    }
}

static const subcommand client_subs[] = {
    {"caching", 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Instruct the server about tracking or not keys in the next request", "6.0.0"},
    {"getredir", 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Get tracking notifications redirection client ID if any", "6.0.0"},
    {"id", 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Returns the client ID for the current connection", "5.0.0"},
    {"info", 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "nondeterministic_output",
     "Returns information about the current client connection.", "6.2.0"},
    {"kill", -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous @connection", "",
     "Kill the connection of a client", "2.4.0"},
    {"list", -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous @connection", "nondeterministic_output",
     "Get the list of client connections", "2.4.0"},
    {"no-evict", 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous @connection", "",
     "Set client eviction mode for the current connection", "7.0.0"},
    {"no-touch", 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", "7.2.0"},
    {"pause", -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous @connection", "",
     "Stop processing commands from clients for some time", "2.9.50"},
    {"reply", 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Instruct the server whether to reply to commands", "3.2.0"},
    {"setname", 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Set the current connection name", "2.6.9"},
    {"getname", 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Get the current connection name", "2.6.9"},
    {"tracking", -3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Enable or disable server assisted client side caching support", "6.0.0"},
    {"trackinginfo", 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Return information about server assisted client side caching for the current connection", "6.2.0"},
    {"unblock", -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous @connection", "",
     "Unblock a client blocked in a blocking command from a different connection", "5.0.0"},
    {"unpause", 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous @connection", "",
     "Resume processing of clients that were paused", "6.2.0"},
    {"help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Show helpful text about the different subcommands", "5.0.0"},
    {"setinfo", 4, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "request_policy:all_nodes response_policy:all_succeeded",
     "Sets information specific to the client or connection.", "7.2.0"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const subcommand config_subs[] = {
    {"get", -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "",
     "Get the values of configuration parameters", "2.0.0"},
    {"set", -4, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "request_policy:all_nodes response_policy:all_succeeded",
     "Set configuration parameters to the given values", "2.0.0"},
    {"resetstat", 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "",
     "Reset the stats returned by INFO", "2.0.0"},
    {"rewrite", 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "",
     "Rewrite the configuration file with the in memory configuration", "2.8.0"},
    {"help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow", "",
     "Show helpful text about the different subcommands", "5.0.0"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const subcommand command_subs[] = {
    {"count", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Get total number of Redis commands", "2.8.13"},
    {"docs", -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "nondeterministic_output_order",
     "Get array of specific Redis command documentation", "7.0.0"},
    {"getkeys", -4, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Extract keys given a full Redis command", "2.8.13"},
    {"getkeysandflags", -4, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Extract keys and access flags given a full Redis command", "7.0.0"},
    {"info", -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "nondeterministic_output_order",
     "Get array of specific Redis command details, or all when no argument is given.", "2.8.13"},
    {"list", -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "nondeterministic_output_order",
     "Get an array of Redis command names", "7.0.0"},
    {"help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow @connection", "",
     "Show helpful text about the different subcommands", "5.0.0"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const subcommand memory_subs[] = {
    {"usage", -3, CMD_READONLY, 2, 2, 1, "@read @slow", "",
     "Estimate the memory usage of a key", "4.0.0"},
    {"doctor", 2, 0, 0, 0, 0, "@slow", "nondeterministic_output request_policy:all_shards response_policy:special",
     "Outputs memory problems report", "4.0.0"},
    {"stats", 2, 0, 0, 0, 0, "@slow", "nondeterministic_output request_policy:all_shards response_policy:special",
     "Show memory usage details", "4.0.0"},
    {"purge", 2, 0, 0, 0, 0, "@slow", "request_policy:all_shards response_policy:all_succeeded",
     "Ask the allocator to release memory", "4.0.0"},
    {"malloc-stats", 2, 0, 0, 0, 0, "@slow", "nondeterministic_output request_policy:all_shards response_policy:special",
     "Show allocator internal stats", "4.0.0"},
    {"help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow", "",
     "Show helpful text about the different subcommands", "4.0.0"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const subcommand latency_subs[] = {
    {"doctor", 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special",
     "Return a human readable latency analysis report.", "2.8.13"},
    {"graph", 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special",
     "Return a latency graph for the event.", "2.8.13"},
    {"history", 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special",
     "Return timestamp-latency samples for the event.", "2.8.13"},
    {"latest", 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special",
     "Return the latest latency samples for all events.", "2.8.13"},
    {"reset", -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "request_policy:all_nodes response_policy:all_succeeded",
     "Reset latency data for one or more events.", "2.8.13"},
    {"histogram", -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special",
     "Return the cumulative distribution of latencies of a subset of commands or all.", "7.0.0"},
    {"help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow", "",
     "Show helpful text about the different subcommands.", "2.8.13"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};

command cmds_server[] = {
    {"ping", ping_command, -1, CMD_FAST | CMD_NOLOCK, 0, 0, 0, NULL, "connection", "Returns the server's liveliness response.", "1.0.0", 0, 0, 0, 0},
    {"echo", echo_command, 2, CMD_FAST | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "connection", "Returns the given string.", "1.0.0", 0, 0, 0, 0},
    {"quit", quit_command, -1, CMD_NOAUTH | CMD_ALLOW_BUSY | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOSCRIPT | CMD_NOLOCK, 0, 0, 0, NULL, "connection", "Closes the connection.", "1.0.0", 0, 0, 0, 0},
    {"auth", auth_command, -2, CMD_NOAUTH | CMD_ALLOW_BUSY | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "connection", "Authenticates the connection.", "1.0.0", 0, 0, 0, 0},
    {"hello", hello_command, -1, CMD_NOAUTH | CMD_ALLOW_BUSY | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "connection", "Handshakes with the Redis server.", "6.0.0", 0, 0, 0, 0},
    {"reset", reset_command, 1, CMD_NOAUTH | CMD_ALLOW_BUSY | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "connection", "Resets the connection.", "6.2.0", 0, 0, 0, 0},
    {"client", client_command, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "connection", "A container for client connection commands.", "2.4.0", 0, 0, 0, 0, client_subs},
    {"command", command_command, -1, CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "server", "Returns detailed information about all commands.", "2.8.13", 0, 0, 0, 0, command_subs},
    {"info", info_command, -1, CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "server", "Returns information and statistics about the server.", "1.0.0", 0, 0, 0, 0},
    {"config", config_command, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "server", "A container for server configuration commands.", "2.0.0", 0, 0, 0, 0, config_subs},
    {"time", time_command, 1, CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK, 0, 0, 0, NULL, "server", "Returns the server time.", "2.6.0", 0, 0, 0, 0},
    {"role", role_command, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK, 0, 0, 0, NULL, "server", "Returns the replication role.", "2.8.12", 0, 0, 0, 0},
    {"shutdown", shutdown_command, -1, CMD_ADMIN | CMD_ALLOW_BUSY | CMD_NOMULTI | CMD_LOADING | CMD_STALE | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "server", "Synchronously saves the database(s) to disk and shuts down the Redis server.", "1.0.0", 0, 0, 0, 0},
    {"debug", debug_command, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "server", "A container for debugging commands.", "1.0.0", 0, 0, 0, 0},
    {"memory", memory_command, -2, CMD_READONLY | CMD_NOLOCK, 0, 0, 0, NULL, "server", "A container for memory diagnostics commands.", "4.0.0", 0, 0, 0, 0, memory_subs},
    {"latency", latency_command, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "server", "A container for latency diagnostics commands.", "2.8.13", 0, 0, 0, 0, latency_subs},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
