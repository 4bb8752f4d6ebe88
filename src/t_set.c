/* t_set.c — the set type and its commands (SADD … SSCAN), with Redis 7
 * semantics and replies. A set value is one of three encodings, told
 * apart by its first byte:
 *   intset     sorted integers (intset.c) while every member is an integer
 *              and there are at most set-max-intset-entries of them;
 *   pack       members packed in one allocation (pack.c), unordered, while
 *              there are at most set-max-listpack-entries, none longer than
 *              set-max-listpack-value bytes (OBJECT ENCODING: "listpack");
 *   hashtable  one node per member in an mdict (mdict.c).
 * A set only ever moves up that list (as Redis's do); a set built by a
 * command (SINTERSTORE…) starts again at the bottom. Handlers run with the
 * shard locks of their keys held by cmd.c and answer through reply.c. */
#include "kvd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct snode {
    mnode h;
    char data[];
} snode;

typedef struct setht {
    uint8_t tag;            /* SET_ENC_HT */
    mdict d;
    size_t bytes;           /* node allocations */
} setht;

static inline int enc_of(const void *s) { return *(const uint8_t *)s; }

static const char *snode_keyp(const mnode *n) { return ((const snode *)n)->data; }

/* ---------------------------------------------------------------- helpers shared with t_zset.c */

entry *lookup_typed(client *c, sv key, int type, bool write, bool *wrong)
{
    entry *e = write ? store_lookup_write(c->db, key) : store_lookup_counted(c, key, true);
    *wrong = false;
    if (e && e->type != type) {
        *wrong = true;
        return NULL;
    }
    return e;
}

_Thread_local bool cmd_keys_invalid;

/* Key positions of "numkeys key [key ...]" commands: the numkeys argument
 * at nkidx, plus a destination key at dstidx when > 0. A numkeys the
 * handler will refuse yields no source keys. */
int keys_numkeys(client *c, int *keys, int max, int nkidx, int dstidx)
{
    int n = 0;
    if (dstidx > 0 && dstidx < c->argc && n < max) keys[n++] = dstidx;
    long long nk;
    if (nkidx >= c->argc || !util_str2ll(c->argv[nkidx].p, c->argv[nkidx].n, &nk) || nk < 1 ||
        nk > c->argc - nkidx - 1) {
        cmd_keys_invalid = true;
        return n;
    }
    for (int i = 0; i < nk && n < max; i++) keys[n++] = nkidx + 1 + i;
    return n;
}

/* Integer argument with Redis's getRangeLongFromObjectOrReply messages:
 * msg (when given) for both a non-integer and an out-of-range value. */
bool arg_long_range(client *c, sv a, long long min, long long max, long long *out, const char *msg)
{
    long long v;
    if (!util_str2ll(a.p, a.n, &v)) {
        reply_error(c, msg ? msg : ERR_NOTINT);
        return false;
    }
    if (v < min || v > max) {
        if (msg) reply_error(c, msg);
        else reply_errorf(c, "ERR value is out of range, value must between %lld and %lld", min, max); /* sic */
        return false;
    }
    *out = v;
    return true;
}

/* getPositiveLongFromObjectOrReply: one message for a non-integer and a
 * negative value. */
bool arg_positive(client *c, sv a, long long *out, const char *msg)
{
    return arg_long_range(c, a, 0, LLONG_MAX, out, msg ? msg : "ERR value is out of range, must be positive");
}

/* Records a change of value size in the shard's memory estimate and the
 * (possibly moved) value in its entry. */
static void value_update(client *c, sv key, entry *e, void *v, size_t before, size_t (*memfn)(const void *))
{
    ent_setptr(e, v);
    store_value_mem_changed(store_shard_of(c->db, key), e, (ssize_t)memfn(v) - (ssize_t)before);
}

/* ---------------------------------------------------------------- the set value */

static size_t set_mem(const void *s)
{
    switch (enc_of(s)) {
    case SET_ENC_INTSET: return intset_bytes(s);
    case SET_ENC_PACK: return pack_bytes(s);
    default: {
        const setht *h = s;
        return sizeof(setht) + md_table_bytes(&h->d) + h->bytes;
    }
    }
}

uint64_t set_size(const void *s)
{
    switch (enc_of(s)) {
    case SET_ENC_INTSET: return ((const intset *)s)->count;
    case SET_ENC_PACK: return ((const pack *)s)->count;
    default: return ((const setht *)s)->d.count;
    }
}

static const char *set_encoding(const void *s)
{
    switch (enc_of(s)) {
    case SET_ENC_INTSET: return "intset";
    case SET_ENC_PACK: return "listpack";
    default: return "hashtable";
    }
}

static setht *ht_new(uint64_t hint)
{
    setht *h = malloc(sizeof *h);
    if (!h) abort();
    h->tag = SET_ENC_HT;
    md_init(&h->d, snode_keyp);
    h->bytes = 0;
    if (hint > 1) md_reserve(&h->d, hint);
    return h;
}

static void ht_add_new(setht *h, const char *p, size_t n, uint32_t hash)
{
    snode *x = malloc(sizeof(snode) + n);
    if (!x) abort();
    x->h.hash = hash;
    x->h.len = (uint32_t)n;
    memcpy(x->data, p, n);
    md_insert(&h->d, &x->h);
    h->bytes += sizeof(snode) + n;
}

static void snode_free(mnode *x) { free(x); }

static void set_free(void *s)
{
    if (enc_of(s) == SET_ENC_HT) md_clear(&((setht *)s)->d, snode_free);
    free(s);
}

sv selem_sv(const selem *e, char *tmp)
{
    if (e->p) {
        sv v = {e->p, e->n};
        return v;
    }
    int l = util_ll2str(tmp, 24, e->ll);
    sv v = {tmp, (size_t)l};
    return v;
}

void set_iter_init(setiter *it, const void *s)
{
    it->set = s;
    it->i = 0;
    it->off = 0;
    it->node = NULL;
}

bool set_iter_next(setiter *it, selem *e)
{
    const void *s = it->set;
    switch (enc_of(s)) {
    case SET_ENC_INTSET: {
        const intset *is = s;
        if (it->i >= is->count) return false;
        e->p = NULL;
        e->n = 0;
        e->ll = intset_get(is, (uint32_t)it->i++);
        return true;
    }
    case SET_ENC_PACK: {
        const pack *pk = s;
        if (it->off >= pk->used) return false;
        sv m;
        it->off += pk_member(pk, (uint32_t)it->off, &m);
        e->p = m.p;
        e->n = m.n;
        return true;
    }
    default: {
        const setht *h = s;
        while (!it->node) {
            if (it->i >= h->d.size) return false;
            it->node = h->d.t[it->i++];
        }
        mnode *x = it->node;
        it->node = x->next;
        e->p = snode_keyp(x);
        e->n = x->len;
        return true;
    }
    }
}

static int64_t pack_find(const pack *pk, const char *p, size_t n)
{
    uint32_t off = 0;
    while (off < pk->used) {
        sv m;
        uint32_t l = pk_member(pk, off, &m);
        if (m.n == n && memcmp(m.p, p, n) == 0) return off;
        off += l;
    }
    return -1;
}

static void pack_append(pack **pp, const char *p, size_t n)
{
    uint32_t h = pk_varint_len((uint32_t)n);
    char *dst = pack_open(pp, (*pp)->used, h + (uint32_t)n);
    pk_varint_put(dst, (uint32_t)n);
    memcpy(dst + h, p, n);
    (*pp)->count++;
}

static pack *set_pack_new(void)
{
    pack *pk = pack_new();
    pk->tag = SET_ENC_PACK;
    return pk;
}

static intset *set_intset_new(void)
{
    intset *is = intset_new();
    is->tag = SET_ENC_INTSET;
    return is;
}

/* Rebuilds s in encoding to (a higher one), freeing s. */
static void *set_convert(void *s, int to, uint64_t hint)
{
    void *n;
    if (to == SET_ENC_PACK) {
        pack *pk = set_pack_new();
        setiter it;
        selem e;
        char tmp[24];
        set_iter_init(&it, s);
        while (set_iter_next(&it, &e)) {
            sv m = selem_sv(&e, tmp);
            pack_append(&pk, m.p, m.n);
        }
        n = pk;
    } else {
        setht *h = ht_new(hint > set_size(s) ? hint : set_size(s));
        setiter it;
        selem e;
        char tmp[24];
        set_iter_init(&it, s);
        while (set_iter_next(&it, &e)) {
            sv m = selem_sv(&e, tmp);
            ht_add_new(h, m.p, m.n, md_hash(m.p, m.n));
        }
        n = h;
    }
    set_free(s);
    return n;
}

static bool fits_pack(uint64_t count, size_t len)
{
    return count <= (uint64_t)CFG(set_max_listpack_entries) && (long long)len <= CFG(set_max_listpack_value);
}

/* Length of the longest member of an intset as text: its smallest or
 * largest value. */
static size_t intset_maxlen(const intset *is)
{
    if (!is->count) return 0;
    char tmp[24];
    int a = util_ll2str(tmp, sizeof tmp, intset_get(is, 0));
    int b = util_ll2str(tmp, sizeof tmp, intset_get(is, is->count - 1));
    return (size_t)(a > b ? a : b);
}

/* A new empty set for about `hint` members, the first being p/n. */
static void *set_new_hint(const char *p, size_t n, uint64_t hint)
{
    long long ll;
    if (util_str2ll(p, n, &ll) && hint <= (uint64_t)CFG(set_max_intset_entries)) return set_intset_new();
    if (fits_pack(hint, n)) return set_pack_new();
    return ht_new(hint);
}

void *set_new_for(const char *p, size_t n) { return set_new_hint(p, n, 1); }

bool set_contains(const void *s, const char *p, size_t n)
{
    switch (enc_of(s)) {
    case SET_ENC_INTSET: {
        long long ll;
        return util_str2ll(p, n, &ll) && intset_find(s, ll);
    }
    case SET_ENC_PACK: return pack_find(s, p, n) >= 0;
    default: return md_find(&((const setht *)s)->d, p, n, md_hash(p, n)) != NULL;
    }
}

static bool set_contains_elem(const void *s, const selem *e)
{
    if (!e->p && enc_of(s) == SET_ENC_INTSET) return intset_find(s, e->ll);
    char tmp[24];
    sv m = selem_sv(e, tmp);
    return set_contains(s, m.p, m.n);
}

bool set_add(void **sp, const char *p, size_t n)
{
    void *s = *sp;
    switch (enc_of(s)) {
    case SET_ENC_INTSET: {
        intset *is = s;
        long long ll;
        if (util_str2ll(p, n, &ll)) {
            if (!intset_add(&is, ll)) return false;
            *sp = is;
            if (is->count > (uint64_t)CFG(set_max_intset_entries)) {
                bool pk = fits_pack(is->count, intset_maxlen(is));
                *sp = set_convert(is, pk ? SET_ENC_PACK : SET_ENC_HT, 0);
            }
            return true;
        }
        bool pk = fits_pack((uint64_t)is->count + 1, n) && fits_pack(is->count, intset_maxlen(is));
        s = set_convert(is, pk ? SET_ENC_PACK : SET_ENC_HT, 0);
        *sp = s;
        return set_add(sp, p, n);
    }
    case SET_ENC_PACK: {
        pack *pk = s;
        if (pack_find(pk, p, n) >= 0) return false;
        if (!fits_pack((uint64_t)pk->count + 1, n)) {
            *sp = set_convert(pk, SET_ENC_HT, 0);
            return set_add(sp, p, n);
        }
        pack_append(&pk, p, n);
        *sp = pk;
        return true;
    }
    default: {
        setht *h = s;
        uint32_t hash = md_hash(p, n);
        if (md_find(&h->d, p, n, hash)) return false;
        ht_add_new(h, p, n, hash);
        return true;
    }
    }
}

static bool set_remove(void **sp, const char *p, size_t n)
{
    void *s = *sp;
    switch (enc_of(s)) {
    case SET_ENC_INTSET: {
        long long ll;
        intset *is = s;
        if (!util_str2ll(p, n, &ll) || !intset_remove(&is, ll)) return false;
        *sp = is;
        return true;
    }
    case SET_ENC_PACK: {
        pack *pk = s;
        int64_t off = pack_find(pk, p, n);
        if (off < 0) return false;
        sv m;
        uint32_t l = pk_member(pk, (uint32_t)off, &m);
        pack_close(&pk, (uint32_t)off, l);
        pk->count--;
        *sp = pk;
        return true;
    }
    default: {
        setht *h = s;
        mnode *x = md_remove(&h->d, p, n, md_hash(p, n));
        if (!x) return false;
        h->bytes -= sizeof(snode) + x->len;
        free(x);
        return true;
    }
    }
}

static void *set_dup(const void *s)
{
    switch (enc_of(s)) {
    case SET_ENC_INTSET: return intset_dup(s);
    case SET_ENC_PACK: return pack_dup(s);
    default: {
        const setht *h = s;
        setht *n = ht_new(h->d.count);
        for (uint64_t i = 0; i < h->d.size; i++)
            for (mnode *x = h->d.t[i]; x; x = x->next) ht_add_new(n, snode_keyp(x), x->len, x->hash);
        return n;
    }
    }
}

/* Fills out[] with every member (views into s; integers by value). */
static void set_all(const void *s, selem *out)
{
    setiter it;
    set_iter_init(&it, s);
    uint64_t k = 0;
    while (set_iter_next(&it, &out[k])) k++;
}

/* count distinct members picked uniformly at random (count < size) into
 * out[], as views into s. */
static void set_sample(const void *s, uint64_t count, selem *out)
{
    uint64_t size = set_size(s);
    if (enc_of(s) != SET_ENC_HT || count * 3 > size) {
        selem *all = malloc(sizeof(selem) * size);
        if (!all) abort();
        set_all(s, all);
        for (uint64_t i = 0; i < count; i++) {
            uint64_t j = i + util_rand64() % (size - i);
            selem t = all[i];
            all[i] = all[j];
            all[j] = t;
            out[i] = all[i];
        }
        free(all);
        return;
    }
    /* few out of many: random nodes, rejecting repeats (open addressing
     * on the node pointers) */
    const setht *h = s;
    uint64_t cap = 16;
    while (cap < count * 2) cap *= 2;
    mnode **seen = calloc(cap, sizeof(mnode *));
    if (!seen) abort();
    uint64_t got = 0;
    while (got < count) {
        mnode *x = md_random(&h->d);
        uint64_t b = ((uintptr_t)x >> 4) * 0x9E3779B97F4A7C15ULL & (cap - 1);
        while (seen[b] && seen[b] != x) b = (b + 1) & (cap - 1);
        if (seen[b]) continue;
        seen[b] = x;
        out[got].p = snode_keyp(x);
        out[got].n = x->len;
        got++;
    }
    free(seen);
}

static void set_random(const void *s, selem *e)
{
    switch (enc_of(s)) {
    case SET_ENC_INTSET: {
        const intset *is = s;
        e->p = NULL;
        e->ll = intset_get(is, (uint32_t)(util_rand64() % is->count));
        return;
    }
    case SET_ENC_PACK: {
        const pack *pk = s;
        uint64_t k = util_rand64() % pk->count;
        uint32_t off = 0;
        sv m;
        for (;;) {
            uint32_t l = pk_member(pk, off, &m);
            if (!k--) break;
            off += l;
        }
        e->p = m.p;
        e->n = m.n;
        return;
    }
    default: {
        mnode *x = md_random(&((const setht *)s)->d);
        e->p = snode_keyp(x);
        e->n = x->len;
        return;
    }
    }
}

/* ---------------------------------------------------------------- snapshot encoding */

/* Snapshot layout of a set value (little endian):
 *   u8  format (0)
 *   u32 count
 *   count x { u32 length, bytes }     members, any order
 * Integers are saved as their decimal text; the loader picks the encoding
 * from the members and the current limits. Changing this changes the
 * snapshot format: bump the version. */
static void put_u32(buf *b, uint32_t v)
{
    unsigned char t[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_append(b, t, 4);
}

static uint32_t get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void set_save(buf *b, const void *s)
{
    buf_appendc(b, 0);
    put_u32(b, (uint32_t)set_size(s));
    setiter it;
    selem e;
    char tmp[24];
    set_iter_init(&it, s);
    while (set_iter_next(&it, &e)) {
        sv m = selem_sv(&e, tmp);
        put_u32(b, (uint32_t)m.n);
        buf_append(b, m.p, m.n);
    }
}

static void *set_load(const char *p, size_t n, const char **err)
{
    if (n < 5 || p[0] != 0) {
        *err = "bad set header";
        return NULL;
    }
    uint32_t count = get_u32(p + 1);
    size_t off = 5;
    void *s = NULL;
    for (uint32_t i = 0; i < count; i++) {
        if (n - off < 4) goto trunc;
        uint32_t l = get_u32(p + off);
        off += 4;
        if (n - off < l) goto trunc;
        /* the count is only a hint, and no more members than the bytes can
         * hold (4 each at least): a huge count once sized a 16 GB table
         * (found by fuzz_snapshot) */
        if (!s) s = set_new_hint(p + off, l, count < (n - 5) / 4 ? count : (uint32_t)((n - 5) / 4));
        if (!set_add(&s, p + off, l)) {
            *err = "duplicate set member";
            set_free(s);
            return NULL;
        }
        off += l;
    }
    if (off != n || count == 0) {
        *err = count == 0 ? "empty set" : "trailing bytes after set";
        if (s) set_free(s);
        return NULL;
    }
    return s;
trunc:
    *err = "truncated set";
    if (s) set_free(s);
    return NULL;
}

static const objtype set_type = {"set", set_free, set_dup, set_mem, set_encoding, set_save, set_load};

__attribute__((constructor)) static void set_register(void) { obj_register(OBJ_SET, &set_type); }

/* ---------------------------------------------------------------- commands */

static inline void *eset(entry *e) { return ent_ptr(e); }

static void reply_selem(client *c, const selem *e)
{
    if (e->p) reply_bulk(c, e->p, e->n);
    else reply_bulk_ll(c, e->ll);
}

static void sadd_command(client *c)
{
    bool wrong;
    sv key = c->argv[1];
    entry *e = lookup_typed(c, key, OBJ_SET, true, &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    long added = 0;
    if (!e) {
        void *s = set_new_hint(c->argv[2].p, c->argv[2].n, (uint64_t)(c->argc - 2));
        for (int j = 2; j < c->argc; j++) added += set_add(&s, c->argv[j].p, c->argv[j].n);
        store_add_ptr(c->db, key, OBJ_SET, s, -1);
    } else {
        void *s = eset(e);
        size_t before = set_mem(s);
        for (int j = 2; j < c->argc; j++) added += set_add(&s, c->argv[j].p, c->argv[j].n);
        value_update(c, key, e, s, before, set_mem);
    }
    if (added) {
        notify_keyspace_event(NOTIFY_SET, "sadd", c->db, key);
        store_written(c, c->db, key);
    }
    reply_int(c, added);
}

static void srem_command(client *c)
{
    bool wrong;
    sv key = c->argv[1];
    entry *e = lookup_typed(c, key, OBJ_SET, true, &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    if (!e) {
        reply_int(c, 0);
        return;
    }
    void *s = eset(e);
    size_t before = set_mem(s);
    long removed = 0;
    for (int j = 2; j < c->argc && set_size(s); j++) removed += set_remove(&s, c->argv[j].p, c->argv[j].n);
    value_update(c, key, e, s, before, set_mem);
    if (!set_size(s)) store_delete_entry(store_shard_of(c->db, key), e);
    if (removed) {
        notify_write(NOTIFY_SET, "srem", c->db, key);
        store_written(c, c->db, key);
    }
    reply_int(c, removed);
}

static void reply_whole_set(client *c, const void *s)
{
    reply_set(c, (long)set_size(s));
    setiter it;
    selem e;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &e)) reply_selem(c, &e);
}

static void smembers_command(client *c)
{
    bool wrong;
    entry *e = lookup_typed(c, c->argv[1], OBJ_SET, false, &wrong);
    if (wrong) reply_err_wrongtype(c);
    else if (!e) reply_set(c, 0);
    else reply_whole_set(c, eset(e));
}

static void sismember_command(client *c)
{
    bool wrong;
    entry *e = lookup_typed(c, c->argv[1], OBJ_SET, false, &wrong);
    if (wrong) reply_err_wrongtype(c);
    else reply_int(c, e && set_contains(eset(e), c->argv[2].p, c->argv[2].n));
}

static void smismember_command(client *c)
{
    bool wrong;
    entry *e = lookup_typed(c, c->argv[1], OBJ_SET, false, &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) reply_int(c, e && set_contains(eset(e), c->argv[j].p, c->argv[j].n));
}

static void scard_command(client *c)
{
    bool wrong;
    entry *e = lookup_typed(c, c->argv[1], OBJ_SET, false, &wrong);
    if (wrong) reply_err_wrongtype(c);
    else reply_int(c, e ? (long long)set_size(eset(e)) : 0);
}

/* Logs SREM key members... for popped members, at most 1024 per record. */
static void propagate_srem(client *c, sv key, const selem *els, uint64_t n)
{
    sv argv[2 + 1024];
    char tmp[1024][24];
    argv[0] = sv_of("SREM");
    argv[1] = key;
    uint64_t i = 0;
    while (i < n) {
        int k = 2;
        for (; k < 2 + 1024 && i < n; k++, i++) argv[k] = selem_sv(&els[i], tmp[k - 2]);
        cmd_propagate(c, k, argv);
    }
}

static void spop_command(client *c)
{
    sv key = c->argv[1];
    bool wrong;
    if (c->argc > 3) {
        reply_err_syntax(c);
        return;
    }
    long long count = -1;
    if (c->argc == 3 && !arg_positive(c, c->argv[2], &count, NULL)) return;
    entry *e = lookup_typed(c, key, OBJ_SET, true, &wrong);
    if (!e && !wrong) {
        if (count < 0) reply_null(c);
        else reply_set(c, 0);
        cmd_propagate_none(c);
        return;
    }
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    if (count == 0) {
        reply_set(c, 0);
        cmd_propagate_none(c);
        return;
    }
    void *s = eset(e);
    uint64_t size = set_size(s);
    if (count < 0 || (uint64_t)count < size) {
        uint64_t n = count < 0 ? 1 : (uint64_t)count;
        selem one, *els = n == 1 ? &one : malloc(sizeof(selem) * n);
        if (!els) abort();
        if (n == 1) set_random(s, els);
        else set_sample(s, n, els);
        if (count < 0) reply_selem(c, els);
        else {
            reply_set(c, (long)n);
            for (uint64_t i = 0; i < n; i++) reply_selem(c, &els[i]);
        }
        propagate_srem(c, key, els, n);
        /* copy the members out: removing moves the packed ones */
        buf tmp;
        buf_init_static(&tmp, NULL, 0);
        char num[24];
        for (uint64_t i = 0; i < n; i++) {
            sv m = selem_sv(&els[i], num);
            uint32_t l = (uint32_t)m.n;
            buf_append(&tmp, &l, 4);
            buf_append(&tmp, m.p, m.n);
        }
        if (els != &one) free(els);
        size_t before = set_mem(s);
        for (size_t off = 0; off < tmp.len;) {
            uint32_t l;
            memcpy(&l, tmp.p + off, 4);
            set_remove(&s, tmp.p + off + 4, l);
            off += 4 + l;
        }
        buf_free(&tmp);
        value_update(c, key, e, s, before, set_mem);
    } else {
        /* everything: reply with the whole set, delete the key (Redis
         * reads it as SUNION would: a keyspace hit) */
        store_count_lookup(c, key, true, false);
        reply_whole_set(c, s);
        sv argv[2] = {sv_of("DEL"), key};
        cmd_propagate(c, 2, argv);
        store_delete_entry(store_shard_of(c->db, key), e);
        notify_write(NOTIFY_SET, "spop", c->db, key);
        store_written(c, c->db, key);
        return;
    }
    if (!set_size(s)) store_delete_entry(store_shard_of(c->db, key), e);
    notify_write(NOTIFY_SET, "spop", c->db, key);
    store_written(c, c->db, key);
}

static void srandmember_command(client *c)
{
    bool wrong;
    if (c->argc > 3) {
        reply_err_syntax(c);
        return;
    }
    if (c->argc == 2) {
        entry *e = lookup_typed(c, c->argv[1], OBJ_SET, false, &wrong);
        if (wrong) reply_err_wrongtype(c);
        else if (!e) reply_null(c);
        else {
            selem x;
            set_random(eset(e), &x);
            reply_selem(c, &x);
        }
        return;
    }
    long long l;
    /* -LLONG_MAX..LLONG_MAX: negating the count cannot overflow (CVE-2023-25155) */
    if (!arg_long_range(c, c->argv[2], -LLONG_MAX, LLONG_MAX, &l, NULL)) return;
    entry *e = lookup_typed(c, c->argv[1], OBJ_SET, false, &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    if (!e || l == 0) {
        reply_array(c, 0);
        return;
    }
    const void *s = eset(e);
    uint64_t size = set_size(s);
    uint64_t count = l < 0 ? (uint64_t)-l : (uint64_t)l;
    if (l < 0 || count == 1) {
        /* repeats allowed */
        reply_array(c, (long)count);
        for (uint64_t i = 0; i < count; i++) {
            selem x;
            set_random(s, &x);
            reply_selem(c, &x);
            /* -LLONG_MAX would build replies until memory ran out, holding
             * the shard lock (Redis dies there); closes the client instead */
            if ((i & 1023) == 1023 && conn_reply_too_big(c)) break;
        }
        return;
    }
    if (count >= size) {
        /* the whole set, as an array (not a RESP3 set, unlike SPOP) */
        reply_array(c, (long)size);
        setiter it;
        selem x;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &x)) reply_selem(c, &x);
        return;
    }
    selem *els = malloc(sizeof(selem) * count);
    if (!els) abort();
    set_sample(s, count, els);
    reply_array(c, (long)count);
    for (uint64_t i = 0; i < count; i++) reply_selem(c, &els[i]);
    free(els);
}

static void smove_command(client *c)
{
    sv src = c->argv[1], dst = c->argv[2], m = c->argv[3];
    bool w1, w2;
    entry *se = lookup_typed(c, src, OBJ_SET, true, &w1);
    entry *de = lookup_typed(c, dst, OBJ_SET, true, &w2);
    if (!se && !w1) {
        reply_int(c, 0);
        return;
    }
    if (w1 || w2) {
        reply_err_wrongtype(c);
        return;
    }
    if (se == de) {
        reply_int(c, set_contains(eset(se), m.p, m.n));
        return;
    }
    void *s = eset(se);
    size_t before = set_mem(s);
    if (!set_remove(&s, m.p, m.n)) {
        reply_int(c, 0);
        return;
    }
    value_update(c, src, se, s, before, set_mem);
    if (!set_size(s)) store_delete_entry(store_shard_of(c->db, src), se);
    notify_write(NOTIFY_SET, "srem", c->db, src);
    store_written(c, c->db, src);
    if (!de) {
        void *d = set_new_for(m.p, m.n);
        set_add(&d, m.p, m.n);
        store_add_ptr(c->db, dst, OBJ_SET, d, -1);
        notify_keyspace_event(NOTIFY_SET, "sadd", c->db, dst);
        store_written(c, c->db, dst);
    } else {
        void *d = eset(de);
        before = set_mem(d);
        bool added = set_add(&d, m.p, m.n);
        value_update(c, dst, de, d, before, set_mem);
        if (added) {
            notify_keyspace_event(NOTIFY_SET, "sadd", c->db, dst);
            store_written(c, c->db, dst);
        }
    }
    reply_int(c, 1);
}

/* ---------------------------------------------------------------- SINTER, SUNION, SDIFF */

enum { SOP_INTER, SOP_UNION, SOP_DIFF };

static int cmp_size(const void *a, const void *b)
{
    uint64_t x = set_size(*(void *const *)a), y = set_size(*(void *const *)b);
    return x < y ? -1 : x > y;
}

/* Replaces dst with the set s (deleting dst when s is empty or NULL) and
 * replies with its size. */
static void store_result(client *c, sv dst, void *s, const char *event)
{
    uint64_t n = s ? set_size(s) : 0;
    if (n) {
        store_add_ptr(c->db, dst, OBJ_SET, s, -1);
        notify_keyspace_event(NOTIFY_SET, event, c->db, dst);
        store_written(c, c->db, dst);
    } else {
        if (s) set_free(s);
        store_delete_written(c, c->db, dst);
    }
    reply_int(c, (long long)n);
}

/* The common worker: keys at argv[first..first+n), dst (NULL for a reply),
 * cardinality only (SINTERCARD, with limit, 0 = none). */
static void setop_generic(client *c, int op, int first, int n, const sv *dst, bool card, uint64_t limit)
{
    void **sets = malloc(sizeof(void *) * (size_t)n);
    if (!sets) abort();
    int missing = 0;
    for (int j = 0; j < n; j++) {
        bool wrong;
        entry *e = lookup_typed(c, c->argv[first + j], OBJ_SET, false, &wrong); /* a read, as Redis's */
        if (wrong) {
            free(sets);
            reply_err_wrongtype(c);
            return;
        }
        sets[j] = e ? eset(e) : NULL;
        if (!e) missing++;
    }
    void *res = NULL;           /* result built as a set (union, store) */
    selem *arr = NULL;          /* or as a list of views (inter, diff) */
    uint64_t narr = 0;
    if (op == SOP_INTER) {
        if (missing) goto done;
        qsort(sets, (size_t)n, sizeof(void *), cmp_size);
        arr = malloc(sizeof(selem) * (set_size(sets[0]) + 1));
        if (!arr) abort();
        setiter it;
        selem e;
        set_iter_init(&it, sets[0]);
        while (set_iter_next(&it, &e)) {
            int j = 1;
            for (; j < n; j++)
                if (sets[j] != sets[0] && !set_contains_elem(sets[j], &e)) break;
            if (j < n) continue;
            arr[narr++] = e;
            if (card && limit && narr >= limit) break;
        }
    } else if (op == SOP_DIFF) {
        if (!sets[0]) goto done;
        arr = malloc(sizeof(selem) * (set_size(sets[0]) + 1));
        if (!arr) abort();
        setiter it;
        selem e;
        set_iter_init(&it, sets[0]);
        while (set_iter_next(&it, &e)) {
            int j = 1;
            for (; j < n; j++)
                if (sets[j] && (sets[j] == sets[0] || set_contains_elem(sets[j], &e))) break;
            if (j < n) continue;
            arr[narr++] = e;
        }
    } else {
        for (int j = 0; j < n; j++) {
            if (!sets[j]) continue;
            setiter it;
            selem e;
            char tmp[24];
            set_iter_init(&it, sets[j]);
            while (set_iter_next(&it, &e)) {
                sv m = selem_sv(&e, tmp);
                if (!res) res = set_new_hint(m.p, m.n, set_size(sets[j]));
                set_add(&res, m.p, m.n);
            }
        }
    }
done:
    free(sets);
    if (arr && !res && dst) {
        char tmp[24];
        for (uint64_t i = 0; i < narr; i++) {
            sv m = selem_sv(&arr[i], tmp);
            if (!res) res = set_new_hint(m.p, m.n, narr);
            set_add(&res, m.p, m.n);
        }
    }
    if (card) {
        reply_int(c, (long long)narr);
    } else if (dst) {
        store_result(c, *dst, res, op == SOP_INTER ? "sinterstore" : op == SOP_UNION ? "sunionstore" : "sdiffstore");
    } else if (res) {
        reply_whole_set(c, res);
        set_free(res);
    } else {
        reply_set(c, (long)narr);
        for (uint64_t i = 0; i < narr; i++) reply_selem(c, &arr[i]);
    }
    free(arr);
}

static void sinter_command(client *c) { setop_generic(c, SOP_INTER, 1, c->argc - 1, NULL, false, 0); }
static void sunion_command(client *c) { setop_generic(c, SOP_UNION, 1, c->argc - 1, NULL, false, 0); }
static void sdiff_command(client *c) { setop_generic(c, SOP_DIFF, 1, c->argc - 1, NULL, false, 0); }
static void sinterstore_command(client *c) { setop_generic(c, SOP_INTER, 2, c->argc - 2, &c->argv[1], false, 0); }
static void sunionstore_command(client *c) { setop_generic(c, SOP_UNION, 2, c->argc - 2, &c->argv[1], false, 0); }
static void sdiffstore_command(client *c) { setop_generic(c, SOP_DIFF, 2, c->argc - 2, &c->argv[1], false, 0); }

static void sintercard_command(client *c)
{
    long long numkeys, limit = 0;
    if (!arg_long_range(c, c->argv[1], 1, LLONG_MAX, &numkeys, "ERR numkeys should be greater than 0")) return;
    if (numkeys > c->argc - 2) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (sv_eqci(c->argv[j], "limit") && j + 1 < c->argc) {
            if (!arg_positive(c, c->argv[++j], &limit, "ERR LIMIT can't be negative")) return;
        } else {
            reply_err_syntax(c);
            return;
        }
    }
    setop_generic(c, SOP_INTER, 2, (int)numkeys, NULL, true, (uint64_t)limit);
}

static int sintercard_keys(client *c, int *keys, int max) { return keys_numkeys(c, keys, max, 1, 0); }

/* ---------------------------------------------------------------- SSCAN */

typedef struct scanacc {
    buf out;        /* u32 length + bytes per collected member */
    long n;
} scanacc;

static void scan_add(scanacc *a, const char *p, size_t n)
{
    uint32_t l = (uint32_t)n;
    buf_append(&a->out, &l, 4);
    buf_append(&a->out, p, n);
    a->n++;
}

static void sscan_node(void *ctx, mnode *x) { scan_add(ctx, snode_keyp(x), x->len); }

/* Parses [MATCH pat] [COUNT n] from argv[start]; false after replying. */
static void sscan_command(client *c)
{
    uint64_t cursor;
    if (!scan_cursor_arg(c, c->argv[2], &cursor)) return;
    bool wrong;
    entry *e = lookup_typed(c, c->argv[1], OBJ_SET, false, &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    if (!e) {
        reply_array(c, 2);
        reply_bulk(c, "0", 1);
        reply_array(c, 0);
        return;
    }
    sv pat = {NULL, 0};
    bool use_pat;
    long long count;
    if (!scan_opts(c, 3, &pat, &use_pat, &count, NULL)) return;
    const void *s = eset(e);
    scanacc a;
    buf_init_static(&a.out, NULL, 0);
    a.n = 0;
    if (enc_of(s) == SET_ENC_HT) {
        const setht *h = s;
        long long maxiter = count * 10;
        do {
            cursor = md_scan(&h->d, cursor, sscan_node, &a);
        } while (cursor && maxiter-- && a.n < count);
    } else {
        setiter it;
        selem x;
        char tmp[24];
        set_iter_init(&it, s);
        while (set_iter_next(&it, &x)) {
            sv m = selem_sv(&x, tmp);
            scan_add(&a, m.p, m.n);
        }
        cursor = 0;
    }
    long keep = 0;
    for (size_t off = 0; off < a.out.len;) {
        uint32_t l;
        memcpy(&l, a.out.p + off, 4);
        if (!use_pat || util_glob_match(pat.p, pat.n, a.out.p + off + 4, l, false)) keep++;
        off += 4 + l;
    }
    reply_array(c, 2);
    reply_bulk_ll(c, (long long)cursor);
    reply_array(c, keep);
    for (size_t off = 0; off < a.out.len;) {
        uint32_t l;
        memcpy(&l, a.out.p + off, 4);
        if (!use_pat || util_glob_match(pat.p, pat.n, a.out.p + off + 4, l, false))
            reply_bulk(c, a.out.p + off + 4, l);
        off += 4 + l;
    }
    buf_free(&a.out);
}

/* ---------------------------------------------------------------- table */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define D CMD_DENYOOM
command cmds_set[] = {
    {"sadd", sadd_command, -3, W | D | F, 1, 1, 1, NULL, "set", "Adds one or more members to a set. Creates the key if it doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"srem", srem_command, -3, W | F, 1, 1, 1, NULL, "set", "Removes one or more members from a set. Deletes the set if the last member was removed.", "1.0.0", 0, 0, 0, 0},
    {"smembers", smembers_command, 2, R, 1, 1, 1, NULL, "set", "Returns all members of a set.", "1.0.0", 0, 0, 0, 0},
    {"sismember", sismember_command, 3, R | F, 1, 1, 1, NULL, "set", "Determines whether a member belongs to a set.", "1.0.0", 0, 0, 0, 0},
    {"smismember", smismember_command, -3, R | F, 1, 1, 1, NULL, "set", "Determines whether multiple members belong to a set.", "6.2.0", 0, 0, 0, 0},
    {"scard", scard_command, 2, R | F, 1, 1, 1, NULL, "set", "Returns the number of members in a set.", "1.0.0", 0, 0, 0, 0},
    {"spop", spop_command, -2, W | F, 1, 1, 1, NULL, "set", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", "1.0.0", 0, 0, 0, 0},
    {"srandmember", srandmember_command, -2, R, 1, 1, 1, NULL, "set", "Get one or multiple random members from a set", "1.0.0", 0, 0, 0, 0},
    {"smove", smove_command, 4, W | F, 1, 2, 1, NULL, "set", "Moves a member from one set to another.", "1.0.0", 0, 0, 0, 0},
    {"sinter", sinter_command, -2, R, 1, -1, 1, NULL, "set", "Returns the intersect of multiple sets.", "1.0.0", 0, 0, 0, 0},
    {"sintercard", sintercard_command, -3, R, 0, 0, 0, sintercard_keys, "set", "Returns the number of members of the intersect of multiple sets.", "7.0.0", 0, 0, 0, 0},
    {"sinterstore", sinterstore_command, -3, W | D, 1, -1, 1, NULL, "set", "Stores the intersect of multiple sets in a key.", "1.0.0", 0, 0, 0, 0},
    {"sunion", sunion_command, -2, R, 1, -1, 1, NULL, "set", "Returns the union of multiple sets.", "1.0.0", 0, 0, 0, 0},
    {"sunionstore", sunionstore_command, -3, W | D, 1, -1, 1, NULL, "set", "Stores the union of multiple sets in a key.", "1.0.0", 0, 0, 0, 0},
    {"sdiff", sdiff_command, -2, R, 1, -1, 1, NULL, "set", "Returns the difference of multiple sets.", "1.0.0", 0, 0, 0, 0},
    {"sdiffstore", sdiffstore_command, -3, W | D, 1, -1, 1, NULL, "set", "Stores the difference of multiple sets in a key.", "1.0.0", 0, 0, 0, 0},
    {"sscan", sscan_command, -3, R, 1, 1, 1, NULL, "set", "Iterates over members of a set.", "2.8.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
