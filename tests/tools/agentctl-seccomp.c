/* agentctl --seccomp FILE: an OCI seccomp profile (the JSON object of linux.seccomp in a
 * config.json) read into the spec, so that one file drives both crun and the agent in the
 * oracle test. A small JSON reader: objects, arrays, strings (simple escapes), unsigned
 * integers, true/false/null; anything else is a fatal error (it is a test tool). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentctl.h"
#include "xalloc.h"

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
    enum jtype t;
    char *s;              /* J_STR */
    unsigned long long n; /* J_NUM, J_BOOL */
    struct jv **items;    /* J_ARR, J_OBJ values */
    char **keys;          /* J_OBJ */
    size_t len;
};

static _Noreturn void bad(const char *what, const char *at)
{
    fprintf(stderr, "agentctl: seccomp profile: %s at \"%.20s\"\n", what, at);
    exit(64);
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
        (*p)++;
}

static char *parse_str(const char **p)
{
    if (**p != '"')
        bad("string expected", *p);
    (*p)++;
    size_t cap = strlen(*p) + 1, n = 0;
    char *out = xmalloc(cap);
    while (**p && **p != '"') {
        char ch = *(*p)++;
        if (ch == '\\') {
            ch = *(*p)++;
            ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
        }
        out[n++] = ch;
    }
    if (**p != '"')
        bad("unterminated string", *p);
    (*p)++;
    out[n] = '\0';
    return out;
}

static struct jv *parse_value(const char **p);

static void add(struct jv *v, char *key, struct jv *item)
{
    v->items = xrealloc(v->items, (v->len + 1) * sizeof(*v->items));
    v->keys = xrealloc(v->keys, (v->len + 1) * sizeof(*v->keys));
    v->items[v->len] = item;
    v->keys[v->len++] = key;
}

static struct jv *parse_container(const char **p, enum jtype t, char close)
{
    struct jv *v = xcalloc(1, sizeof(*v));
    v->t = t;
    (*p)++;
    skip_ws(p);
    if (**p == close) {
        (*p)++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(p);
        if (t == J_OBJ) {
            key = parse_str(p);
            skip_ws(p);
            if (*(*p)++ != ':')
                bad("':' expected", *p - 1);
        }
        add(v, key, parse_value(p));
        skip_ws(p);
        char c = *(*p)++;
        if (c == close)
            return v;
        if (c != ',')
            bad("',' expected", *p - 1);
    }
}

static struct jv *parse_value(const char **p)
{
    skip_ws(p);
    if (**p == '{')
        return parse_container(p, J_OBJ, '}');
    if (**p == '[')
        return parse_container(p, J_ARR, ']');
    struct jv *v = xcalloc(1, sizeof(*v));
    if (**p == '"') {
        v->t = J_STR;
        v->s = parse_str(p);
    } else if (**p >= '0' && **p <= '9') {
        char *end;
        v->t = J_NUM;
        v->n = strtoull(*p, &end, 10);
        *p = end;
    } else if (strncmp(*p, "true", 4) == 0 || strncmp(*p, "false", 5) == 0) {
        v->t = J_BOOL;
        v->n = **p == 't';
        *p += v->n ? 4 : 5;
    } else if (strncmp(*p, "null", 4) == 0) {
        *p += 4;
    } else {
        bad("value expected", *p);
    }
    return v;
}

static const struct jv *get(const struct jv *o, const char *key, enum jtype t)
{
    for (size_t i = 0; o->t == J_OBJ && i < o->len; i++)
        if (strcmp(o->keys[i], key) == 0) {
            if (o->items[i]->t != t)
                bad("wrong type of value", key);
            return o->items[i];
        }
    return NULL;
}

static char **strings(const struct jv *a, size_t *n)
{
    *n = 0;
    if (!a)
        return NULL;
    char **v = xcalloc(a->len + 1, sizeof(char *));
    for (size_t i = 0; i < a->len; i++) {
        if (a->items[i]->t != J_STR)
            bad("string expected in array", "");
        v[(*n)++] = a->items[i]->s;
    }
    return v;
}

static const char *str_or_empty(const struct jv *o, const char *key)
{
    const struct jv *s = get(o, key, J_STR);
    return s ? s->s : "";
}

static Grpc__LinuxSeccompArg *make_arg(const struct jv *o)
{
    Grpc__LinuxSeccompArg *a = xmalloc(sizeof(*a));
    grpc__linux_seccomp_arg__init(a);
    const struct jv *v;
    if ((v = get(o, "index", J_NUM)))
        a->index = v->n;
    if ((v = get(o, "value", J_NUM)))
        a->value = v->n;
    if ((v = get(o, "valueTwo", J_NUM)))
        a->valuetwo = v->n;
    a->op = (char *)str_or_empty(o, "op");
    return a;
}

static Grpc__LinuxSyscall *make_syscall(const struct jv *o)
{
    Grpc__LinuxSyscall *s = xmalloc(sizeof(*s));
    grpc__linux_syscall__init(s);
    s->names = strings(get(o, "names", J_ARR), &s->n_names);
    s->action = (char *)str_or_empty(o, "action");
    const struct jv *e = get(o, "errnoRet", J_NUM);
    if (e) {
        s->errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
        s->errnoret = (uint32_t)e->n;
    }
    const struct jv *args = get(o, "args", J_ARR);
    if (args) {
        s->args = xcalloc(args->len + 1, sizeof(*s->args));
        for (size_t i = 0; i < args->len; i++)
            s->args[s->n_args++] = make_arg(args->items[i]);
    }
    return s;
}

Grpc__LinuxSeccomp *agentctl_seccomp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(64);
    }
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n < 0)
        bad("cannot read", path);
    const char *p = text;
    struct jv *root = parse_value(&p);
    if (root->t != J_OBJ)
        bad("an object expected", text);
    Grpc__LinuxSeccomp *s = xmalloc(sizeof(*s));
    grpc__linux_seccomp__init(s);
    s->defaultaction = (char *)str_or_empty(root, "defaultAction");
    s->architectures = strings(get(root, "architectures", J_ARR), &s->n_architectures);
    s->flags = strings(get(root, "flags", J_ARR), &s->n_flags);
    const struct jv *sys = get(root, "syscalls", J_ARR);
    if (sys) {
        s->syscalls = xcalloc(sys->len + 1, sizeof(*s->syscalls));
        for (size_t i = 0; i < sys->len; i++)
            s->syscalls[s->n_syscalls++] = make_syscall(sys->items[i]);
    }
    return s; /* lives as long as agentctl: the parse tree is not freed */
}
