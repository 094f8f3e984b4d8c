/* The io layer's own DuckDB: configured from database.duckdb.* like the storage
 * backend's, one connection, no pool (one reader or writer uses it at a time). */
#include "io/duckdb_engine.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void io_duckdb_clean_message(char *buf, size_t size, const char *message)
{
    if (!message)
        message = "unknown DuckDB error";
    /* "Invalid Input Error: ..." -> "..." when the prefix is a single error class. */
    const char *colon = strstr(message, "Error: ");
    if (colon && colon - message < 40 && !memchr(message, '\n', (size_t)(colon - message)))
        message = colon + strlen("Error: ");
    size_t len = strcspn(message, "\n");
    while (len > 0 && (message[len - 1] == ' ' || message[len - 1] == '\r'))
        len--;
    snprintf(buf, size, "%.*s", (int)len, message);
}

static int set_option(duckdb_config config, const char *name, const char *value,
                      const char *key, const char *what)
{
    if (duckdb_set_config(config, name, value) == DuckDBSuccess)
        return 0;
    return mdm_error_set(MDM_ECONFIG, "%s: DuckDB refused %s = '%s' (config key %s)", what, name,
                         value, key);
}

int io_duckdb_open(io_duckdb *out, const char *path, const char *temp_directory,
                   const mdm_config *cfg, const char *what)
{
    memset(out, 0, sizeof *out);
    duckdb_config config = NULL;
    char *engine_error = NULL;
    int rc = 0;
    if (duckdb_create_config(&config) != DuckDBSuccess)
        return mdm_error_set(MDM_ENOMEM, "%s: cannot create a DuckDB configuration", what);
    if (cfg) {
        long long threads = (long long)mdm_config_int(cfg, "database.duckdb.threads");
        if (threads <= 0) {
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            threads = cores > 0 ? cores : 1;
        }
        char text[32];
        snprintf(text, sizeof text, "%lld", threads);
        const char *mem = mdm_config_str(cfg, "database.duckdb.memory_limit");
        const char *tmp = mdm_config_str(cfg, "database.duckdb.temp_directory");
        if ((rc = set_option(config, "threads", text, "database.duckdb.threads", what)))
            goto cleanup;
        if (mem && (rc = set_option(config, "memory_limit", mem, "database.duckdb.memory_limit", what)))
            goto cleanup;
        if (!temp_directory && tmp &&
            (rc = set_option(config, "temp_directory", tmp, "database.duckdb.temp_directory", what)))
            goto cleanup;
    }
    if (temp_directory &&
        (rc = set_option(config, "temp_directory", temp_directory, "database.duckdb.temp_directory", what)))
        goto cleanup;
    if (duckdb_open_ext(path, &out->db, config, &engine_error) != DuckDBSuccess) {
        char msg[512];
        io_duckdb_clean_message(msg, sizeof msg, engine_error);
        rc = mdm_error_set(MDM_EBACKEND, "%s: cannot start DuckDB: %s", what, msg);
        goto cleanup;
    }
    if (duckdb_connect(out->db, &out->conn) != DuckDBSuccess) {
        duckdb_close(&out->db);
        rc = mdm_error_set(MDM_EBACKEND, "%s: cannot connect to DuckDB", what);
        goto cleanup;
    }

cleanup:
    if (engine_error)
        duckdb_free(engine_error);
    duckdb_destroy_config(&config);
    return rc;
}

void io_duckdb_close(io_duckdb *engine)
{
    if (engine->conn)
        duckdb_disconnect(&engine->conn);
    if (engine->db)
        duckdb_close(&engine->db);
}

int io_duckdb_run(io_duckdb *engine, const char *sql, const char *what)
{
    duckdb_result result;
    int rc = 0;
    if (duckdb_query(engine->conn, sql, &result) != DuckDBSuccess) {
        char msg[768];
        io_duckdb_clean_message(msg, sizeof msg, duckdb_result_error(&result));
        rc = mdm_error_set(MDM_EBACKEND, "%s: %s", what, msg);
    }
    duckdb_destroy_result(&result);
    return rc;
}
