/* mdm version, mdm info. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "mdm/mdm.h"

int cli_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("MDM version %s\n", mdm_version());
    return 0;
}

int cli_info(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        puts("Usage: mdm info\n\n  Show configuration, storage backends and system information.");
        return 0;
    }
    mdm_config *cfg = NULL;
    if (mdm_config_load(&cfg, NULL)) {
        fprintf(stderr, "Error: %s\n", mdm_error_last()->message);
        return 1;
    }
    printf("MDM version      %s\n", mdm_version());
    printf("Home             %s\n", mdm_config_home(cfg));
    printf("Config file      %s\n", mdm_config_file(cfg));
    printf("Default backend  %s\n", mdm_config_str(cfg, "database.default_backend"));
    printf("Datasets path    %s\n", mdm_config_path(cfg, "datasets_path"));
    printf("Configs path     %s\n", mdm_config_path(cfg, "configs_path"));
    printf("Logs path        %s\n", mdm_config_path(cfg, "logs_path"));
    printf("Custom features  %s\n", mdm_config_path(cfg, "custom_features_path"));
    printf("SQLite           %s\n", mdm_backend_library_version("sqlite"));
    printf("DuckDB           %s\n", mdm_backend_library_version("duckdb"));
    printf("libpq            %s\n", mdm_backend_library_version("postgres"));
    mdm_config_free(cfg);
    return 0;
}
