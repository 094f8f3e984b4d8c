/* Dataset handles by name with reference counts; a stale handle (its stamp moved, or
 * forgotten) is closed by whoever puts back its last reference. */
#include "server/handles.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct handle_ref {
    struct handle_ref *next;
    char name[256];
    uint64_t stamp;
    mdm_dataset *ds;
    unsigned refs;
    bool stale; /* no longer in the list */
};

struct handles {
    pthread_mutex_t lock;
    mdm_catalog *cat;
    handle_ref *list;
};

int handles_new(handles **out, mdm_catalog *cat)
{
    handles *h = calloc(1, sizeof *h);
    if (!h)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    pthread_mutex_init(&h->lock, NULL);
    h->cat = cat;
    *out = h;
    return 0;
}

void handles_free(handles *h)
{
    if (!h)
        return;
    for (handle_ref *r = h->list, *next; r; r = next) {
        next = r->next;
        mdm_dataset_close(r->ds);
        free(r);
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* Takes r out of the list (lock held); returns true when the caller must close it. */
static bool detach(handles *h, handle_ref *r)
{
    for (handle_ref **pp = &h->list; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    r->stale = true;
    return r->refs == 0;
}

static void destroy(handle_ref *r)
{
    mdm_dataset_close(r->ds);
    free(r);
}

int handles_get(handle_ref **ref, mdm_dataset **ds, handles *h, const char *name, uint64_t stamp)
{
    char norm[256];
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, name);
    if (rc)
        return rc;
    handle_ref *old = NULL;
    pthread_mutex_lock(&h->lock);
    for (handle_ref *r = h->list; r; r = r->next)
        if (strcmp(r->name, norm) == 0) {
            if (r->stamp == stamp) {
                r->refs++;
                pthread_mutex_unlock(&h->lock);
                *ref = r;
                *ds = r->ds;
                return 0;
            }
            old = r;
            break;
        }
    pthread_mutex_unlock(&h->lock);

    /* Open outside the lock: it reads the registry. */
    handle_ref *n = calloc(1, sizeof *n);
    if (!n)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    rc = mdm_dataset_open(&n->ds, h->cat, norm);
    if (rc) {
        free(n);
        return rc;
    }
    memcpy(n->name, norm, sizeof norm);
    n->stamp = stamp;
    n->refs = 1;

    bool close_old = false;
    pthread_mutex_lock(&h->lock);
    /* Another thread may have replaced the entry meanwhile: whichever is in the list
     * for this name goes. */
    for (handle_ref *r = h->list; r; r = r->next)
        if (strcmp(r->name, norm) == 0) {
            old = r;
            break;
        }
    if (old && old->stamp == stamp) { /* an equal handle won the race: use it */
        old->refs++;
        pthread_mutex_unlock(&h->lock);
        destroy(n);
        *ref = old;
        *ds = old->ds;
        return 0;
    }
    if (old)
        close_old = detach(h, old);
    n->next = h->list;
    h->list = n;
    pthread_mutex_unlock(&h->lock);
    if (close_old)
        destroy(old);
    *ref = n;
    *ds = n->ds;
    return 0;
}

void handles_put(handles *h, handle_ref *ref)
{
    if (!ref)
        return;
    pthread_mutex_lock(&h->lock);
    bool close = --ref->refs == 0 && ref->stale;
    pthread_mutex_unlock(&h->lock);
    if (close)
        destroy(ref);
}

void handles_forget(handles *h, const char *name)
{
    char norm[256];
    if (mdm_dataset_name_normalize(norm, sizeof norm, name))
        return;
    handle_ref *victim = NULL;
    bool close = false;
    pthread_mutex_lock(&h->lock);
    for (handle_ref *r = h->list; r; r = r->next)
        if (strcmp(r->name, norm) == 0) {
            victim = r;
            close = detach(h, r);
            break;
        }
    pthread_mutex_unlock(&h->lock);
    if (victim && close)
        destroy(victim);
}
