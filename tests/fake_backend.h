/* An in-memory backend written for the tests: it proves that a backend is one table
 * plus one registration line, and runs the conformance groups its capability bits allow
 * (no SQL, no files, no schemas). */
#ifndef MDM_TESTS_FAKE_BACKEND_H
#define MDM_TESTS_FAKE_BACKEND_H

#include "mdm/sys/backend.h"

extern const mdm_backend mdm_test_fake_backend;

#endif
