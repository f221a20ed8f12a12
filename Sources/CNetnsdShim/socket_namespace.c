#include "cnetnsd.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

int cellos_netnsd_socket_namespace(int sock) { return ioctl(sock, SIOCGSKNS); }
