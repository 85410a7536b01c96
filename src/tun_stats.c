#include "tun_stats.h"
