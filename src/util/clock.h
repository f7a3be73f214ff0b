/* The time lbcert judges keep_previous_hours by. */
#ifndef LB_CLOCK_H
#define LB_CLOCK_H

#include <time.h>

/* time(NULL), unless LBCERT_NOW holds Unix seconds: a documented override,
 * read for this judgement only (when a replaced certificate's objects may
 * be retired), so that a test can move past the keep time without waiting
 * for it. Certificate dates and the journal always use the real clock. */
time_t lb_keep_clock(void);

#endif
