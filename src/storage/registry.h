/* Registry look-ups that never load a module: for code that only needs a backend's
 * names (the registry YAML says "postgresql", stores are opened as "postgres"). */
#ifndef MDM_STORAGE_REGISTRY_H
#define MDM_STORAGE_REGISTRY_H

/* The registry's name of the backend answering to `name` (its name or catalog name),
 * or `name` itself when none does. Borrowed; NULL stays NULL. */
const char *backend_registry_name(const char *name);

#endif
