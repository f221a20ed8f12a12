// C glue for the broker's privilege drop: prctl(2) is variadic, so Swift cannot
// call it directly. Each function returns 0 or -1 with errno set.
#ifndef CBROKERSHIM_H
#define CBROKERSHIM_H

#include <sys/types.h>

/// PR_SET_NO_NEW_PRIVS: no execve may ever raise privileges again (per thread,
/// inherited by threads and children created afterwards).
int cellos_broker_set_no_new_privs(void);

/// PR_CAPBSET_DROP for every capability up to the kernel's last one (needs
/// CAP_SETPCAP; only the calling thread's bounding set).
int cellos_broker_drop_bounding_set(void);

/// PR_CAP_AMBIENT_CLEAR_ALL.
int cellos_broker_clear_ambient(void);

/// setgroups(0, NULL): no supplementary groups.
int cellos_broker_clear_groups(void);

/// setresgid/setresuid (declared only under _GNU_SOURCE).
int cellos_broker_setresgid(gid_t gid);
int cellos_broker_setresuid(uid_t uid);

#endif
