// getrandom(2): <sys/random.h> is not part of Swift's Glibc module.
#include "cshim.h"

#include <sys/random.h>

ssize_t cellos_getrandom(void *buffer, size_t length) { return getrandom(buffer, length, 0); }
