/* The metrics registry: identity of (name, labels), kind clashes, validation, lock-free
 * updates from many threads, histogram quantiles and the exact Prometheus text. The
 * registry is process-wide, so every test uses names of its own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdm/mdm.h"

static void test_same_name_and_labels_is_the_same_metric(void **state)
{
    mdm_counter *a = mdm_metrics_counter("idem_total", "Help.", "pool=\"x\",backend=\"sqlite\"");
    assert_non_null(a);
    mdm_counter *b = mdm_metrics_counter("idem_total", "Other help.", "pool=\"x\",backend=\"sqlite\"");
    assert_ptr_equal(a, b);
    /* The order labels are written in, and spaces between them, do not make a new series. */
    mdm_counter *c = mdm_metrics_counter("idem_total", NULL, " backend = \"sqlite\" , pool=\"x\",");
    assert_ptr_equal(a, c);
    mdm_counter *other = mdm_metrics_counter("idem_total", NULL, "pool=\"y\",backend=\"sqlite\"");
    assert_non_null(other);
    assert_ptr_not_equal(a, other);

    mdm_gauge *g1 = mdm_metrics_gauge("idem_gauge", NULL, NULL);
    mdm_gauge *g2 = mdm_metrics_gauge("idem_gauge", NULL, "");
    assert_non_null(g1);
    assert_ptr_equal(g1, g2);
    mdm_histogram *h1 = mdm_metrics_histogram("idem_seconds", "h", "op=\"read\"");
    mdm_histogram *h2 = mdm_metrics_histogram("idem_seconds", "h", "op=\"read\"");
    assert_non_null(h1);
    assert_ptr_equal(h1, h2);

    mdm_counter_add(a, 2);
    mdm_counter_add(c, 3);
    assert_int_equal(mdm_counter_value(b), 5);
    assert_int_equal(mdm_counter_value(other), 0);
}

static void test_kind_clash_is_refused(void **state)
{
    assert_non_null(mdm_metrics_counter("clash_metric", "c", NULL));
    mdm_error_clear();
    assert_null(mdm_metrics_gauge("clash_metric", "g", NULL));
    assert_int_equal(mdm_error_last()->code, MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "clash_metric"));
    /* Other labels do not help: a family has one kind. */
    mdm_error_clear();
    assert_null(mdm_metrics_histogram("clash_metric", "h", "a=\"1\""));
    assert_int_equal(mdm_error_last()->code, MDM_EINVALID);
    /* The counter is still there and still works. */
    mdm_counter *c = mdm_metrics_counter("clash_metric", NULL, NULL);
    assert_non_null(c);
    mdm_counter_add(c, 1);
    assert_int_equal(mdm_counter_value(c), 1);

    /* A histogram renders name_bucket, name_sum, name_count: no other family may use them. */
    assert_non_null(mdm_metrics_histogram("clash_wait_seconds", NULL, NULL));
    mdm_error_clear();
    assert_null(mdm_metrics_counter("clash_wait_seconds_count", NULL, NULL));
    assert_int_equal(mdm_error_last()->code, MDM_EINVALID);
    assert_non_null(mdm_metrics_gauge("clash_other_sum", NULL, NULL));
    mdm_error_clear();
    assert_null(mdm_metrics_histogram("clash_other", NULL, NULL));
    assert_int_equal(mdm_error_last()->code, MDM_EINVALID);
}

static void expect_invalid_name(const char *name)
{
    mdm_error_clear();
    assert_null(mdm_metrics_counter(name, NULL, NULL));
    assert_int_equal(mdm_error_last()->code, MDM_EINVALID);
}

static void expect_invalid_labels(const char *labels)
{
    mdm_error_clear();
    assert_null(mdm_metrics_gauge("labels_checked", NULL, labels));
    assert_int_equal(mdm_error_last()->code, MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "labels_checked"));
}

static void test_bad_names_and_labels_are_refused(void **state)
{
    expect_invalid_name(NULL);
    expect_invalid_name("");
    expect_invalid_name("1st_metric");
    expect_invalid_name("has-dash");
    expect_invalid_name("has space");
    expect_invalid_name("unicode_é");
    assert_non_null(mdm_metrics_counter(":colon:ok_1", NULL, NULL));
    assert_non_null(mdm_metrics_counter("_under", NULL, NULL));

    expect_invalid_labels("a=1");
    expect_invalid_labels("a=\"1");
    expect_invalid_labels("a=\"1\" b=\"2\"");
    expect_invalid_labels("=\"1\"");
    expect_invalid_labels("1a=\"1\"");
    expect_invalid_labels("a-b=\"1\"");
    expect_invalid_labels("a=\"1\",a=\"2\"");
    expect_invalid_labels("__name__=\"x\"");
    expect_invalid_labels(",");
    assert_non_null(mdm_metrics_gauge("labels_checked", NULL, "a=\"\",b=\"any \xc3\xa9 text\""));

    mdm_error_clear();
    assert_null(mdm_metrics_histogram("labels_le_seconds", NULL, "le=\"1\""));
    assert_int_equal(mdm_error_last()->code, MDM_EINVALID);
}

static void test_gauge_set_and_add(void **state)
{
    mdm_gauge *g = mdm_metrics_gauge("gauge_ops", NULL, NULL);
    assert_non_null(g);
    assert_true(mdm_gauge_value(g) == 0.0);
    mdm_gauge_set(g, 2.5);
    mdm_gauge_add(g, -4.0);
    assert_true(mdm_gauge_value(g) == -1.5);
    mdm_gauge_set(g, -0.0);
    assert_true(signbit(mdm_gauge_value(g)));
}

#define NTHREADS 8
#define PER_THREAD 200000

typedef struct hammer_ctx {
    pthread_barrier_t *start;
    mdm_counter *counter_seen;
    size_t index;
} hammer_ctx;

/* Each thread looks the metrics up itself (creation races too), then updates them. */
static void *hammer(void *arg)
{
    hammer_ctx *ctx = arg;
    pthread_barrier_wait(ctx->start);
    mdm_counter *c = mdm_metrics_counter("concurrent_ops_total", "Ops.", "kind=\"test\"");
    mdm_gauge *g = mdm_metrics_gauge("concurrent_level", "Level.", NULL);
    mdm_histogram *h = mdm_metrics_histogram("concurrent_seconds", "Latency.", NULL);
    ctx->counter_seen = c;
    if (!c || !g || !h)
        return NULL;
    for (size_t i = 0; i < PER_THREAD; i++) {
        mdm_counter_add(c, 1);
        mdm_gauge_add(g, 1.0);
        /* Powers of two keep the sum exact whatever the order of additions. */
        mdm_histogram_observe(h, (i & 1) ? 0.5 : 0.001953125);
        if (ctx->index == 0 && i % 50000 == 0) {
            char *text = NULL;
            if (mdm_metrics_render(&text) == 0)
                free(text);
        }
    }
    return NULL;
}

static void test_concurrent_updates_sum_exactly(void **state)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, NTHREADS);
    pthread_t threads[NTHREADS];
    hammer_ctx ctx[NTHREADS];
    for (size_t t = 0; t < NTHREADS; t++) {
        ctx[t] = (hammer_ctx){.start = &start, .index = t};
        assert_int_equal(pthread_create(&threads[t], NULL, hammer, &ctx[t]), 0);
    }
    for (size_t t = 0; t < NTHREADS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&start);

    mdm_counter *c = mdm_metrics_counter("concurrent_ops_total", NULL, "kind=\"test\"");
    for (size_t t = 0; t < NTHREADS; t++)
        assert_ptr_equal(ctx[t].counter_seen, c);
    assert_int_equal(mdm_counter_value(c), (uint64_t)NTHREADS * PER_THREAD);
    mdm_gauge *g = mdm_metrics_gauge("concurrent_level", NULL, NULL);
    assert_true(mdm_gauge_value(g) == (double)NTHREADS * PER_THREAD);
    mdm_histogram *h = mdm_metrics_histogram("concurrent_seconds", NULL, NULL);
    assert_int_equal(mdm_histogram_count(h), (uint64_t)NTHREADS * PER_THREAD);

    char *text = NULL;
    assert_int_equal(mdm_metrics_render(&text), 0);
    char expected[256];
    snprintf(expected, sizeof expected, "concurrent_seconds_sum %.17g\n",
             (double)NTHREADS * PER_THREAD / 2 * (0.5 + 0.001953125));
    assert_non_null(strstr(text, expected));
    snprintf(expected, sizeof expected, "concurrent_seconds_bucket{le=\"0.0025\"} %d\n",
             NTHREADS * PER_THREAD / 2);
    assert_non_null(strstr(text, expected));
    free(text);
}

static void test_histogram_quantiles_interpolate(void **state)
{
    mdm_histogram *h = mdm_metrics_histogram("quantile_seconds", NULL, NULL);
    assert_non_null(h);
    assert_true(mdm_histogram_quantile(h, 0.5) == 0.0); /* empty */

    for (int i = 0; i < 50; i++)
        mdm_histogram_observe(h, 0.0002);  /* bucket (100us, 250us] */
    for (int i = 0; i < 50; i++)
        mdm_histogram_observe(h, 0.003);   /* bucket (2.5ms, 5ms] */
    assert_int_equal(mdm_histogram_count(h), 100);
    assert_float_equal(mdm_histogram_quantile(h, 0.25), 0.000175, 1e-12);
    assert_float_equal(mdm_histogram_quantile(h, 0.5), 0.00025, 1e-12);
    assert_float_equal(mdm_histogram_quantile(h, 0.75), 0.00375, 1e-12);
    assert_float_equal(mdm_histogram_quantile(h, 1.0), 0.005, 1e-12);
    assert_float_equal(mdm_histogram_quantile(h, 0.0), 0.0001, 1e-12);
    assert_float_equal(mdm_histogram_quantile(h, 7.0), 0.005, 1e-12); /* clamped */
    assert_true(isnan(mdm_histogram_quantile(h, NAN)));

    /* The first bucket interpolates from 0; the +Inf bucket answers the last bound. */
    mdm_histogram *low = mdm_metrics_histogram("quantile_low_seconds", NULL, NULL);
    for (int i = 0; i < 10; i++)
        mdm_histogram_observe(low, 0.00001);
    assert_float_equal(mdm_histogram_quantile(low, 0.5), 0.00005, 1e-12);
    mdm_histogram *high = mdm_metrics_histogram("quantile_high_seconds", NULL, NULL);
    mdm_histogram_observe(high, 1000.0);
    mdm_histogram_observe(high, NAN); /* ignored */
    assert_int_equal(mdm_histogram_count(high), 1);
    assert_float_equal(mdm_histogram_quantile(high, 0.99), 60.0, 1e-12);
    /* A value on a bound belongs to that bucket (le is inclusive). */
    mdm_histogram *edge = mdm_metrics_histogram("quantile_edge_seconds", NULL, NULL);
    mdm_histogram_observe(edge, 1.0);
    assert_float_equal(mdm_histogram_quantile(edge, 1.0), 1.0, 1e-12);
    assert_float_equal(mdm_histogram_quantile(edge, 0.5), 0.75, 1e-12);
}

static void test_histogram_observe_n_counts_many_at_once(void **state)
{
    mdm_histogram *h = mdm_metrics_histogram("observe_n_seconds", NULL, NULL);
    assert_non_null(h);
    mdm_histogram_observe_n(h, 0.0625, 1000);
    mdm_histogram_observe_n(h, 8.0, 0);   /* nothing */
    mdm_histogram_observe_n(h, NAN, 5);   /* ignored, as one NaN is */
    mdm_histogram_observe(h, 0.0625);
    assert_int_equal(mdm_histogram_count(h), 1001);
    assert_float_equal(mdm_histogram_quantile(h, 0.5), 0.05 + 0.05 * ((500.5 - 0) / 1001.0),
                       1e-12);
    char *text = NULL;
    assert_int_equal(mdm_metrics_render(&text), 0);
    assert_non_null(strstr(text, "\nobserve_n_seconds_sum 62.5625\n"));
    assert_non_null(strstr(text, "\nobserve_n_seconds_bucket{le=\"0.05\"} 0\n"));
    assert_non_null(strstr(text, "\nobserve_n_seconds_bucket{le=\"0.1\"} 1001\n"));
    assert_non_null(strstr(text, "\nobserve_n_seconds_count 1001\n"));
    free(text);
}

/* The lines of a rendering that belong to metric families whose names start with
 * `prefix`, so that one test's families can be compared exactly. */
static char *lines_with_prefix(const char *text, const char *prefix)
{
    size_t plen = strlen(prefix);
    char *out = calloc(strlen(text) + 1, 1);
    assert_non_null(out);
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line + 1) : strlen(line);
        const char *name = line;
        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0)
            name = line + 7;
        if (strncmp(name, prefix, plen) == 0)
            strncat(out, line, len);
        line += len;
    }
    return out;
}

static void test_render_exact_text(void **state)
{
    mdm_counter *ok = mdm_metrics_counter("rt_requests_total", "Requests handled.",
                                          "method=\"get\",code=\"200\"");
    mdm_counter *failed = mdm_metrics_counter("rt_requests_total", "ignored: first help wins",
                                              "code=\"500\",method=\"get\"");
    mdm_gauge *temp = mdm_metrics_gauge("rt_temperature", "Line one\nback\\slash \"quoted\"", NULL);
    mdm_gauge *ratio = mdm_metrics_gauge("rt_ratio", NULL, "path=\"c:\\x\",note=\"two\nlines\"");
    mdm_histogram *lat = mdm_metrics_histogram("rt_latency_seconds", "Latency.", "pool=\"a\\\"b\"");
    mdm_gauge *inf = mdm_metrics_gauge("rt_limit", "Limit.", NULL);
    assert_non_null(ok);
    assert_non_null(failed);
    assert_non_null(temp);
    assert_non_null(ratio);
    assert_non_null(lat);
    assert_non_null(inf);
    mdm_counter_add(ok, 3);
    mdm_counter_add(failed, 1);
    mdm_gauge_set(temp, -1.5);
    mdm_gauge_set(ratio, 0.1);
    mdm_gauge_set(inf, INFINITY);
    mdm_histogram_observe(lat, 0.000244140625); /* (100us, 250us] */
    mdm_histogram_observe(lat, 0.001953125);    /* (1ms, 2.5ms] */
    mdm_histogram_observe(lat, 128.0);          /* +Inf */

    char *text = NULL;
    assert_int_equal(mdm_metrics_render(&text), 0);
    char *mine = lines_with_prefix(text, "rt_");
    const char *expected =
        "# HELP rt_latency_seconds Latency.\n"
        "# TYPE rt_latency_seconds histogram\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.0001\"} 0\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.00025\"} 1\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.0005\"} 1\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.001\"} 1\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.0025\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.005\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.01\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.025\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.05\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.1\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.25\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"0.5\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"1\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"2.5\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"5\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"10\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"30\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"60\"} 2\n"
        "rt_latency_seconds_bucket{pool=\"a\\\"b\",le=\"+Inf\"} 3\n"
        "rt_latency_seconds_sum{pool=\"a\\\"b\"} 128.002197265625\n"
        "rt_latency_seconds_count{pool=\"a\\\"b\"} 3\n"
        "# HELP rt_limit Limit.\n"
        "# TYPE rt_limit gauge\n"
        "rt_limit +Inf\n"
        "# HELP rt_ratio\n"
        "# TYPE rt_ratio gauge\n"
        "rt_ratio{note=\"two\\nlines\",path=\"c:\\\\x\"} 0.1\n"
        "# HELP rt_requests_total Requests handled.\n"
        "# TYPE rt_requests_total counter\n"
        "rt_requests_total{code=\"200\",method=\"get\"} 3\n"
        "rt_requests_total{code=\"500\",method=\"get\"} 1\n"
        "# HELP rt_temperature Line one\\nback\\\\slash \"quoted\"\n"
        "# TYPE rt_temperature gauge\n"
        "rt_temperature -1.5\n";
    assert_string_equal(mine, expected);
    free(mine);
    free(text);
}

static void test_labels_round_trip_their_escapes(void **state)
{
    /* Text already escaped the Prometheus way means the same series as its canonical form. */
    mdm_counter *a = mdm_metrics_counter("escape_total", NULL, "v=\"q\\\"uote\\\\back\\nline\"");
    mdm_counter *b = mdm_metrics_counter("escape_total", NULL, "v=\"q\\\"uote\\\\back\nline\"");
    assert_non_null(a);
    assert_ptr_equal(a, b);
    char *text = NULL;
    assert_int_equal(mdm_metrics_render(&text), 0);
    assert_non_null(strstr(text, "\nescape_total{v=\"q\\\"uote\\\\back\\nline\"} 0\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_name_and_labels_is_the_same_metric),
        cmocka_unit_test(test_kind_clash_is_refused),
        cmocka_unit_test(test_bad_names_and_labels_are_refused),
        cmocka_unit_test(test_gauge_set_and_add),
        cmocka_unit_test(test_concurrent_updates_sum_exactly),
        cmocka_unit_test(test_histogram_quantiles_interpolate),
        cmocka_unit_test(test_histogram_observe_n_counts_many_at_once),
        cmocka_unit_test(test_render_exact_text),
        cmocka_unit_test(test_labels_round_trip_their_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
