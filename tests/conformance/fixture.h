/* The conformance suite's fixture: one backend under test, a fresh dataset per test. */
#ifndef MDM_TEST_CONFORMANCE_FIXTURE_H
#define MDM_TEST_CONFORMANCE_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mdm/mdm.h"

/* How an engine treats values it cannot store as given; checked, and documented in
 * docs/ARCHITECTURE.md ("Values each engine changes"). */
typedef struct engine_quirks {
    bool nan_becomes_null;      /* SQLite stores NaN as NULL */
    bool negative_zero_lost;    /* -0.0 comes back as +0.0 */
} engine_quirks;

typedef struct fixture {
    const char *backend;
    engine_quirks quirks;
    mdm_config *cfg;
    mdm_store *store;
    char dir[256];
    int seq;
} fixture;

extern fixture fx;

/* Fresh store and dataset for one test; cmocka setup/teardown. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Check a connection out of the fixture's store (asserting success). */
mdm_conn *fixture_checkout(void);
void fixture_checkin(mdm_conn *conn);

/* Assert rc == 0, printing the error record otherwise. */
#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int check_rc_ = (expr);                                                            \
        if (check_rc_ != 0)                                                                \
            fail_msg("%s failed: %s (%s)", #expr, mdm_error_last()->message,               \
                     mdm_error_name(check_rc_));                                           \
    } while (0)

/* SELECT COUNT(*) of a table. */
int64_t count_rows(mdm_conn *conn, const char *table);

/* Compares two values; NaN equals NaN; -0.0 differs from +0.0; text by bytes. */
bool values_equal(const mdm_value *a, const mdm_value *b);
/* Renders a value for failure messages (static buffer, one per thread). */
const char *value_repr(const mdm_value *v);

/* Test groups (one file each). */
extern const struct CMUnitTest lifecycle_tests[];
extern const size_t lifecycle_ntests;
extern const struct CMUnitTest roundtrip_tests[];
extern const size_t roundtrip_ntests;
extern const struct CMUnitTest read_tests[];
extern const size_t read_ntests;
extern const struct CMUnitTest safety_tests[];
extern const size_t safety_ntests;
extern const struct CMUnitTest thread_tests[];
extern const size_t thread_ntests;
extern const struct CMUnitTest pooling_tests[];
extern const size_t pooling_ntests;
extern const struct CMUnitTest load_tests[];
extern const size_t load_ntests;
extern const struct CMUnitTest query_tests[];
extern const size_t query_ntests;

#endif
