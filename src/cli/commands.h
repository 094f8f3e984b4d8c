/* The mdm subcommands; each returns the process exit status. */
#ifndef MDM_CLI_COMMANDS_H
#define MDM_CLI_COMMANDS_H

int cli_version(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_dataset(int argc, char **argv);
int cli_batch(int argc, char **argv);
int cli_dataset_register(int argc, char **argv);
int cli_dataset_list(int argc, char **argv);
int cli_dataset_info(int argc, char **argv);
int cli_dataset_search(int argc, char **argv);
int cli_dataset_update(int argc, char **argv);
int cli_dataset_stats(int argc, char **argv);
int cli_dataset_remove(int argc, char **argv);
int cli_dataset_export(int argc, char **argv);
int cli_dataset_verify(int argc, char **argv);
int cli_dataset_query(int argc, char **argv);
int cli_batch_export(int argc, char **argv);
int cli_metrics(int argc, char **argv);
int cli_serve(int argc, char **argv);

#endif
