// C glue for cellos-netnsd: the rtnetlink structures (ifinfomsg, RTM_*) that no
// Swift-visible header declares, and ioctls, which Swift cannot call (variadic).
#pragma once
#include <linux/rtnetlink.h>
#include <linux/veth.h>

/// ioctl(sock, SIOCGSKNS): a new descriptor for the network namespace the socket
/// `sock` was created in, or -1 with errno set.
int cellos_netnsd_socket_namespace(int sock);
