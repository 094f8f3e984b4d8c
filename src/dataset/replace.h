/* Replacing a registered dataset (`register --force`) without ever losing it: the old
 * dataset stays in place, readable, while the new one is loaded into staging; only then
 * is the old storage moved aside to a trash place, the staging place promoted, the new
 * registry YAML committed and the trash deleted.
 *
 *   trash:  <datasets_path>/.trash-<name>-<pid>/   (the old dataset directory, holding
 *           ".replaced.yaml", the registry text of the old dataset, written before the
 *           move) and, for a PostgreSQL dataset, the schema of dataset "<name>.t<pid>".
 *
 * The trash directory is the journal: it is created first and removed last. A command
 * that meets one left by a dead process compares the registry YAML with the text in
 * ".replaced.yaml": equal means the new dataset never committed, and the old one is put
 * back; different means it did, and the trash is deleted. A crash at any point thus
 * leaves the old dataset or the new one, complete. */
#ifndef MDM_DATASET_REPLACE_H
#define MDM_DATASET_REPLACE_H

#include "dataset/catalog.h"
#include "dataset/dataset_info.h"
#include "mdm/mdm.h"

typedef struct replace replace;

/* Moves the committed dataset at `place` (`old_backend` its registry backend name)
 * aside. The caller holds the name's lock and keeps `place` alive as long as `*out`. */
int replace_begin(replace **out, const mdm_config *cfg, const dataset_place *place,
                  const char *old_backend);
/* After the new dataset's commit: deletes the trash (errors are logged) and frees. */
void replace_finish(replace *r);
/* Before the commit, after a failure: removes what of the new dataset reached the
 * dataset's place (`new_backend`) and puts the old one back. Frees `r`. */
int replace_undo(replace *r, const char *new_backend);

/* Settles the trash places of `name` left by processes that are gone, as described
 * above. The caller holds the name's lock. */
int replace_recover(const mdm_config *cfg, const dataset_place *place);
/* For readers, who hold no lock: when a trash place of `name` exists, waits for the
 * name's lock (a replacement under way) and settles it. Cheap when there is none. */
int replace_settle(const mdm_config *cfg, const dataset_place *place);

#endif
