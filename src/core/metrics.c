/* The process-wide metrics registry: counters, gauges and latency histograms keyed by
 * (name, labels), rendered in the Prometheus text exposition format.
 *
 * Creating or finding a metric takes the registry's mutex; updating one never does:
 * every value is a C11 atomic, so pools and connections can count from any thread.
 * Metrics are never freed (they live until process exit, and callers keep the
 * pointers); every one stays reachable from the static registry, so leak checkers see
 * no leak. */
#include "mdm/mdm.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"

/* Upper bounds (seconds, inclusive) of the finite histogram buckets; one more bucket,
 * +Inf, follows them. */
static const double bucket_bounds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0, 60.0,
};
#define NFINITE (sizeof bucket_bounds / sizeof bucket_bounds[0])
#define NBUCKETS (NFINITE + 1)

struct mdm_counter {
    _Atomic uint64_t value;
};

/* Doubles are kept as their bit patterns: C11 has no portable atomic double add. */
struct mdm_gauge {
    _Atomic uint64_t bits;
};

struct mdm_histogram {
    _Atomic uint64_t buckets[NBUCKETS]; /* per bucket, not cumulative */
    _Atomic uint64_t sum_bits;
};

typedef enum metric_kind {
    KIND_COUNTER,
    KIND_GAUGE,
    KIND_HISTOGRAM,
} metric_kind;

typedef struct metric {
    metric_kind kind;
    char *name;
    char *help;   /* the family's help, shared text copied per series */
    char *labels; /* canonical label text: sorted by name, values escaped; "" for none */
    union {
        struct mdm_counter counter;
        struct mdm_gauge gauge;
        struct mdm_histogram histogram;
    } u;
} metric;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static metric **registry;
static size_t registry_len, registry_cap;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;

/* Held across fork(), so that the child never inherits it locked by a thread that did
 * not come along. Never taken under another lock of mdm's. */
static void before_fork(void) { pthread_mutex_lock(&registry_lock); }
static void after_fork(void) { pthread_mutex_unlock(&registry_lock); }
static void install_fork_handlers(void) { pthread_atfork(before_fork, after_fork, after_fork); }

static const char *kind_name(metric_kind kind)
{
    switch (kind) {
    case KIND_COUNTER: return "counter";
    case KIND_GAUGE: return "gauge";
    case KIND_HISTOGRAM: return "histogram";
    }
    return "untyped";
}

static uint64_t double_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

static double bits_double(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Adds to a double kept as bits, retrying when another thread got there first. */
static void atomic_add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old,
                                                  double_bits(bits_double(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* ------------------------------------------------------------------ validation */

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

static bool metric_name_valid(const char *name)
{
    if (!name || !(is_name_start(name[0]) || name[0] == ':'))
        return false;
    for (const char *p = name + 1; *p; p++)
        if (!(is_name_char(*p) || *p == ':'))
            return false;
    return true;
}

typedef struct label_pair {
    char *name;
    char *value; /* unescaped */
} label_pair;

static void label_pairs_free(label_pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
}

static int label_pair_cmp(const void *a, const void *b)
{
    return strcmp(((const label_pair *)a)->name, ((const label_pair *)b)->name);
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses Prometheus label text (`a="x",b="y\"z"`, an optional trailing comma, spaces
 * between tokens) into pairs with the values unescaped. Inside a value \\, \" and \n
 * are escapes; any other byte, a raw newline or a lone backslash included, stands for
 * itself and is escaped again on output. */
static int labels_parse(label_pair **out, size_t *count, const char *text, const char *metric_name)
{
    *out = NULL;
    *count = 0;
    label_pair *pairs = NULL;
    size_t n = 0, cap = 0;
    strbuf value = STRBUF_INIT;
    int rc = 0;
    const char *p = skip_spaces(text);
    while (*p) {
        const char *name_start = p;
        if (!is_name_start(*p)) {
            rc = mdm_error_set(MDM_EINVALID, "metric '%s': bad label text '%s' at offset %zu: "
                               "expected a label name", metric_name, text, (size_t)(p - text));
            goto cleanup;
        }
        while (is_name_char(*p))
            p++;
        size_t name_len = (size_t)(p - name_start);
        p = skip_spaces(p);
        if (*p != '=') {
            rc = mdm_error_set(MDM_EINVALID, "metric '%s': bad label text '%s' at offset %zu: "
                               "expected '='", metric_name, text, (size_t)(p - text));
            goto cleanup;
        }
        p = skip_spaces(p + 1);
        if (*p != '"') {
            rc = mdm_error_set(MDM_EINVALID, "metric '%s': bad label text '%s' at offset %zu: "
                               "expected '\"'", metric_name, text, (size_t)(p - text));
            goto cleanup;
        }
        p++;
        strbuf_reset(&value);
        while (*p && *p != '"') {
            if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n')) {
                strbuf_append_char(&value, p[1] == 'n' ? '\n' : p[1]);
                p += 2;
            } else {
                strbuf_append_char(&value, *p++);
            }
        }
        if (*p != '"') {
            rc = mdm_error_set(MDM_EINVALID, "metric '%s': bad label text '%s': unterminated "
                               "value", metric_name, text);
            goto cleanup;
        }
        p = skip_spaces(p + 1);
        if (*p == ',')
            p = skip_spaces(p + 1);
        else if (*p) {
            rc = mdm_error_set(MDM_EINVALID, "metric '%s': bad label text '%s' at offset %zu: "
                               "expected ','", metric_name, text, (size_t)(p - text));
            goto cleanup;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            label_pair *grown = realloc(pairs, ncap * sizeof *grown);
            if (!grown) {
                rc = mdm_error_set(MDM_ENOMEM, "out of memory parsing labels of '%s'", metric_name);
                goto cleanup;
            }
            pairs = grown;
            cap = ncap;
        }
        const char *value_text = strbuf_cstr(&value);
        pairs[n].name = strndup(name_start, name_len);
        pairs[n].value = value_text ? strdup(value_text) : NULL;
        n++;
        if (!pairs[n - 1].name || !pairs[n - 1].value) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory parsing labels of '%s'", metric_name);
            goto cleanup;
        }
    }
    if (n > 1)
        qsort(pairs, n, sizeof *pairs, label_pair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(pairs[i].name, "__", 2) == 0) {
            rc = mdm_error_set(MDM_EINVALID, "metric '%s': label name '%s' is reserved "
                               "(names starting with '__')", metric_name, pairs[i].name);
            goto cleanup;
        }
        if (i > 0 && strcmp(pairs[i].name, pairs[i - 1].name) == 0) {
            rc = mdm_error_set(MDM_EINVALID, "metric '%s': label '%s' appears twice in '%s'",
                               metric_name, pairs[i].name, text);
            goto cleanup;
        }
    }
    *out = pairs;
    *count = n;
    pairs = NULL;
    n = 0;
cleanup:
    label_pairs_free(pairs, n);
    strbuf_free(&value);
    return rc;
}

static void append_escaped(strbuf *sb, const char *s, bool escape_quotes)
{
    for (; *s; s++) {
        if (*s == '\\')
            strbuf_append(sb, "\\\\");
        else if (*s == '\n')
            strbuf_append(sb, "\\n");
        else if (*s == '"' && escape_quotes)
            strbuf_append(sb, "\\\"");
        else
            strbuf_append_char(sb, *s);
    }
}

/* The canonical form of label text, used both as the registry key and for output:
 * pairs sorted by name (so that the order callers write them in does not make two
 * series of one), values escaped. */
static int labels_canonical(char **out, const char *text, const char *metric_name,
                            metric_kind kind)
{
    *out = NULL;
    label_pair *pairs = NULL;
    size_t n = 0;
    strbuf sb = STRBUF_INIT;
    int rc = labels_parse(&pairs, &n, text ? text : "", metric_name);
    if (rc)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if (kind == KIND_HISTOGRAM && strcmp(pairs[i].name, "le") == 0) {
            rc = mdm_error_set(MDM_EINVALID, "histogram '%s': the label 'le' is reserved for "
                               "bucket bounds", metric_name);
            goto cleanup;
        }
        if (i > 0)
            strbuf_append_char(&sb, ',');
        strbuf_appendf(&sb, "%s=\"", pairs[i].name);
        append_escaped(&sb, pairs[i].value, true);
        strbuf_append_char(&sb, '"');
    }
    if (!strbuf_cstr(&sb)) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory building labels of '%s'", metric_name);
        goto cleanup;
    }
    *out = strbuf_detach(&sb);
cleanup:
    label_pairs_free(pairs, n);
    strbuf_free(&sb);
    return rc;
}

/* ------------------------------------------------------------------ registry */

/* True when `other` is one of the sample names a histogram called `histogram` renders
 * (name_bucket, name_sum, name_count): two families would then share sample names. */
static bool is_histogram_sample_name(const char *histogram, const char *other)
{
    size_t len = strlen(histogram);
    if (strncmp(histogram, other, len) != 0)
        return false;
    const char *suffix = other + len;
    return strcmp(suffix, "_bucket") == 0 || strcmp(suffix, "_sum") == 0 ||
           strcmp(suffix, "_count") == 0;
}

/* Finds or creates the metric (name, labels) of `kind`. NULL with the error set when
 * the name or labels are malformed, or the name is already used by another kind. */
static metric *metric_get(metric_kind kind, const char *name, const char *help,
                          const char *labels)
{
    if (!metric_name_valid(name)) {
        mdm_error_set(MDM_EINVALID, "bad metric name '%s': names match [a-zA-Z_:][a-zA-Z0-9_:]*",
                      name ? name : "(null)");
        return NULL;
    }
    char *canonical = NULL;
    if (labels_canonical(&canonical, labels, name, kind))
        return NULL;

    metric *found = NULL;
    const char *family_help = NULL;
    pthread_once(&fork_handlers_once, install_fork_handlers);
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_len; i++) {
        metric *m = registry[i];
        if ((kind == KIND_HISTOGRAM && is_histogram_sample_name(name, m->name)) ||
            (m->kind == KIND_HISTOGRAM && is_histogram_sample_name(m->name, name))) {
            mdm_error_set(MDM_EINVALID, "metric '%s' (%s) clashes with the samples of metric "
                          "'%s' (%s)", name, kind_name(kind), m->name, kind_name(m->kind));
            goto unlock;
        }
        if (strcmp(m->name, name) != 0)
            continue;
        if (m->kind != kind) {
            mdm_error_set(MDM_EINVALID, "metric '%s' is a %s; it cannot also be a %s", name,
                          kind_name(m->kind), kind_name(kind));
            goto unlock;
        }
        family_help = m->help;
        if (strcmp(m->labels, canonical) == 0) {
            found = m;
            goto unlock;
        }
    }
    if (registry_len == registry_cap) {
        size_t ncap = registry_cap ? registry_cap * 2 : 32;
        metric **grown = realloc(registry, ncap * sizeof *grown);
        if (!grown) {
            mdm_error_set(MDM_ENOMEM, "out of memory registering metric '%s'", name);
            goto unlock;
        }
        registry = grown;
        registry_cap = ncap;
    }
    metric *m = calloc(1, sizeof *m);
    /* A family has one help text: the first series' help is kept for all of them. */
    char *help_copy = strdup(family_help ? family_help : help ? help : "");
    char *name_copy = strdup(name);
    if (!m || !help_copy || !name_copy) {
        free(m);
        free(help_copy);
        free(name_copy);
        mdm_error_set(MDM_ENOMEM, "out of memory registering metric '%s'", name);
        goto unlock;
    }
    m->kind = kind;
    m->name = name_copy;
    m->help = help_copy;
    m->labels = canonical;
    canonical = NULL;
    registry[registry_len++] = m;
    found = m;
unlock:
    pthread_mutex_unlock(&registry_lock);
    free(canonical);
    return found;
}

mdm_counter *mdm_metrics_counter(const char *name, const char *help, const char *labels)
{
    metric *m = metric_get(KIND_COUNTER, name, help, labels);
    return m ? &m->u.counter : NULL;
}

mdm_gauge *mdm_metrics_gauge(const char *name, const char *help, const char *labels)
{
    metric *m = metric_get(KIND_GAUGE, name, help, labels);
    return m ? &m->u.gauge : NULL;
}

mdm_histogram *mdm_metrics_histogram(const char *name, const char *help, const char *labels)
{
    metric *m = metric_get(KIND_HISTOGRAM, name, help, labels);
    return m ? &m->u.histogram : NULL;
}

/* ------------------------------------------------------------------ updates */

void mdm_counter_add(mdm_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t mdm_counter_value(const mdm_counter *c)
{
    return atomic_load_explicit(&c->value, memory_order_relaxed);
}

void mdm_gauge_set(mdm_gauge *g, double v)
{
    atomic_store_explicit(&g->bits, double_bits(v), memory_order_relaxed);
}

void mdm_gauge_add(mdm_gauge *g, double delta) { atomic_add_double(&g->bits, delta); }

double mdm_gauge_value(const mdm_gauge *g)
{
    return bits_double(atomic_load_explicit(&g->bits, memory_order_relaxed));
}

void mdm_histogram_observe_n(mdm_histogram *h, double seconds, uint64_t n)
{
    /* A NaN has no bucket, and would make the sum NaN forever. */
    if (isnan(seconds) || n == 0)
        return;
    size_t b = 0;
    while (b < NFINITE && seconds > bucket_bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->buckets[b], n, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, seconds * (double)n);
}

void mdm_histogram_observe(mdm_histogram *h, double seconds)
{
    mdm_histogram_observe_n(h, seconds, 1);
}

/* Reads the bucket counts once, so that count and cumulative buckets agree. */
static uint64_t histogram_snapshot(const mdm_histogram *h, uint64_t counts[NBUCKETS])
{
    uint64_t total = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        counts[b] = atomic_load_explicit(&h->buckets[b], memory_order_relaxed);
        total += counts[b];
    }
    return total;
}

uint64_t mdm_histogram_count(const mdm_histogram *h)
{
    uint64_t counts[NBUCKETS];
    return histogram_snapshot(h, counts);
}

/* As Prometheus' histogram_quantile: find the bucket holding rank q*count and
 * interpolate linearly between its bounds (the first bucket starts at 0). A rank in
 * the +Inf bucket answers the highest finite bound. An empty histogram answers 0. */
double mdm_histogram_quantile(const mdm_histogram *h, double q)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t counts[NBUCKETS];
    uint64_t total = histogram_snapshot(h, counts);
    if (total == 0)
        return 0.0;
    double rank = q * (double)total;
    uint64_t below = 0;
    for (size_t b = 0; b < NFINITE; b++) {
        if (counts[b] > 0 && (double)(below + counts[b]) >= rank) {
            double lower = b == 0 ? 0.0 : bucket_bounds[b - 1];
            double upper = bucket_bounds[b];
            return lower + (upper - lower) * ((rank - (double)below) / (double)counts[b]);
        }
        below += counts[b];
    }
    return bucket_bounds[NFINITE - 1];
}

/* ------------------------------------------------------------------ rendering */

/* Shortest text that reads back as the same double, with Prometheus' spellings of the
 * special values. Plain decimals up to 1e17 ("10", not "1e+01" as %g would write for
 * one significant digit). buf holds at least 32 bytes. */
static const char *format_double(char *buf, size_t size, double v)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    int precision = 1;
    for (; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    const char *e = strchr(buf, 'e');
    if (e) {
        int exponent = atoi(e + 1);
        if (exponent >= 0 && exponent < 17) {
            int decimals = precision - 1 - exponent;
            snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, v);
        }
    }
    return buf;
}

/* name{labels[,extra]} — braces only when there is something to put in them. */
static void append_series(strbuf *sb, const char *name, const char *suffix, const char *labels,
                          const char *extra)
{
    strbuf_append(sb, name);
    strbuf_append(sb, suffix);
    if (!*labels && !extra)
        return;
    strbuf_append_char(sb, '{');
    strbuf_append(sb, labels);
    if (extra) {
        if (*labels)
            strbuf_append_char(sb, ',');
        strbuf_append(sb, extra);
    }
    strbuf_append_char(sb, '}');
}

static void render_metric(strbuf *sb, const metric *m)
{
    char num[40];
    switch (m->kind) {
    case KIND_COUNTER:
        append_series(sb, m->name, "", m->labels, NULL);
        strbuf_appendf(sb, " %llu\n", (unsigned long long)mdm_counter_value(&m->u.counter));
        break;
    case KIND_GAUGE:
        append_series(sb, m->name, "", m->labels, NULL);
        strbuf_appendf(sb, " %s\n", format_double(num, sizeof num, mdm_gauge_value(&m->u.gauge)));
        break;
    case KIND_HISTOGRAM: {
        uint64_t counts[NBUCKETS];
        uint64_t total = histogram_snapshot(&m->u.histogram, counts);
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += counts[b];
            char le[64];
            snprintf(le, sizeof le, "le=\"%s\"",
                     format_double(num, sizeof num, b < NFINITE ? bucket_bounds[b] : INFINITY));
            append_series(sb, m->name, "_bucket", m->labels, le);
            strbuf_appendf(sb, " %llu\n", (unsigned long long)cumulative);
        }
        double sum = bits_double(atomic_load_explicit(&m->u.histogram.sum_bits,
                                                      memory_order_relaxed));
        append_series(sb, m->name, "_sum", m->labels, NULL);
        strbuf_appendf(sb, " %s\n", format_double(num, sizeof num, sum));
        append_series(sb, m->name, "_count", m->labels, NULL);
        strbuf_appendf(sb, " %llu\n", (unsigned long long)total);
        break;
    }
    }
}

static int metric_order(const void *a, const void *b)
{
    const metric *x = *(const metric *const *)a, *y = *(const metric *const *)b;
    int by_name = strcmp(x->name, y->name);
    return by_name ? by_name : strcmp(x->labels, y->labels);
}

int mdm_metrics_render(char **out)
{
    *out = NULL;
    int rc = 0;
    strbuf sb = STRBUF_INIT;
    metric **sorted = NULL;

    /* Metrics are never freed, so a copy of the list can be rendered without the lock;
     * only the list itself may move when another thread registers a metric. */
    pthread_mutex_lock(&registry_lock);
    size_t n = registry_len;
    if (n) {
        sorted = malloc(n * sizeof *sorted);
        if (sorted)
            memcpy(sorted, registry, n * sizeof *sorted);
    }
    pthread_mutex_unlock(&registry_lock);
    if (n && !sorted) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory rendering metrics");
        goto cleanup;
    }
    if (n > 1)
        qsort(sorted, n, sizeof *sorted, metric_order);

    for (size_t i = 0; i < n; i++) {
        const metric *m = sorted[i];
        if (i == 0 || strcmp(m->name, sorted[i - 1]->name) != 0) {
            strbuf_appendf(&sb, "# HELP %s%s", m->name, *m->help ? " " : "");
            append_escaped(&sb, m->help, false);
            strbuf_appendf(&sb, "\n# TYPE %s %s\n", m->name, kind_name(m->kind));
        }
        render_metric(&sb, m);
    }
    if (!strbuf_cstr(&sb)) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory rendering metrics");
        goto cleanup;
    }
    *out = strbuf_detach(&sb);
cleanup:
    free(sorted);
    strbuf_free(&sb);
    return rc;
}
