/* The public dataset API's handles (mdm/dataset.h), for the files that implement it
 * (api_*.c): a catalog holds its home's resolved paths once; a dataset handle holds
 * one dataset resolved once (normalized name, record, backend, directory, store). */
#ifndef MDM_DATASET_API_H
#define MDM_DATASET_API_H

#include <pthread.h>
#include <stdatomic.h>

#include "dataset/catalog.h"
#include "dataset/dataset_info.h"
#include "mdm/dataset.h"

/* A normalized name: up to 100 characters of up to 4 bytes, and the terminator. */
#define DATASET_NAME_BUF 512

struct mdm_catalog {
    mdm_config *cfg;           /* the catalog's own copy */
    const char *configs_path;  /* borrowed from cfg, resolved once */
    const char *datasets_path;
};

struct mdm_dataset {
    mdm_catalog *cat;
    dataset_place place;          /* normalized name, registry file, directory */
    dataset_info *info;           /* the record as opened */
    const char *backend;          /* registry name: sqlite, duckdb, postgres */
    pthread_mutex_t store_lock;   /* guards the first opening of `store` */
    mdm_store *store;
};

struct mdm_cancel {
    atomic_bool requested;
};

/* MDM_ECANCELED "<what> cancelled" when `cancel` (may be NULL) was tripped, else 0. */
int api_cancel_check(const mdm_cancel *cancel, const char *what);

/* The record's backend as the registry names it ("postgres"), default when absent. */
const char *api_record_backend(const dataset_info *info, const mdm_config *cfg);

#endif
