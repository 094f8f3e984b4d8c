/* What registration guesses about a dataset's columns (SPEC §4 steps 4, 8, 9): ID
 * columns, the target, and the problem type. */
#ifndef MDM_DATASET_DETECT_H
#define MDM_DATASET_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/mdm.h"

/* What detection needs to know of one column. */
typedef struct column_profile {
    const char *name;
    mdm_type type;
    uint64_t rows;        /* rows of the table */
    uint64_t nulls;
    uint64_t distinct;    /* exact when <= distinct_cap, else > distinct_cap */
    uint64_t distinct_cap;
    bool all_unique;      /* every non-null value differs from every other */
    bool only_zero_one;   /* numeric and every value is 0 or 1 */
} column_profile;

/* True when the name alone says "identifier": id, *_id, id_*, index, idx, *_idx, key,
 * *_key, pk, *_pk (case-insensitive). */
bool detect_id_name(const char *name);

/* Whether a column is an ID column. Names ending in "id" without a separator
 * ("userid") count only when their values are all unique, so that "paid" or "valid"
 * are not taken for identifiers (the old tool took them). */
bool detect_is_id(const column_profile *c);

/* The target from a Kaggle sample submission's header: its last column that is not an
 * ID column. NULL when there is none. Borrowed from `header`. */
const char *detect_submission_target(const char *const *header, size_t n);

typedef enum problem_type {
    PROBLEM_NONE = 0,
    PROBLEM_BINARY,
    PROBLEM_MULTICLASS,
    PROBLEM_REGRESSION,
    PROBLEM_TIME_SERIES,
    PROBLEM_CLUSTERING,
} problem_type;

const char *problem_type_name(problem_type p); /* "binary_classification", ... */
/* Parses a --problem-type value; MDM_EINVALID names the allowed values. */
int problem_type_parse(problem_type *out, const char *text);

/* SPEC §4 step 9: the problem type a target column suggests. */
problem_type detect_problem_type(const column_profile *target);

#endif
