// The confinement steps of the workload's child (spawn_parked.c), each
// async-signal-safe: raw syscalls on memory prepared before the fork. Each
// returns 0, or the failed step's number (see cnetnsd.h) with errno set.
#pragma once
#include "cnetnsd.h"

int cellos_child_enter_view(const cellos_netnsd_confinement *confinement);
int cellos_child_drop_bounding_set(int cap_last_cap);
int cellos_child_landlock(const cellos_netnsd_confinement *confinement);
