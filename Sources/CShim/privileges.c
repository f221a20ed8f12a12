// prctl(2) is variadic and setres[ug]id/setgroups want _GNU_SOURCE, so the
// privilege calls every helper makes are here, once.
#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/capability.h>

int cellos_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int cellos_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }

int cellos_set_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

int cellos_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

int cellos_drop_bounding_set(void) {
    // The kernel's last capability: read it, so a newer kernel's extra bits go too.
    int last = CAP_LAST_CAP;
    FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (file != NULL) {
        int value;
        if (fscanf(file, "%d", &value) == 1 && value > 0 && value < 64) last = value;
        fclose(file);
    }
    for (int cap = 0; cap <= last; cap++) {
        int held = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (held < 0) {
            if (errno == EINVAL) continue;
            return -1;
        }
        if (held == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return -1;
    }
    return 0;
}

int cellos_clear_ambient(void) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); }

int cellos_clear_groups(void) { return setgroups(0, NULL); }

int cellos_setresgid(gid_t gid) { return setresgid(gid, gid, gid); }

int cellos_setresuid(uid_t uid) { return setresuid(uid, uid, uid); }
