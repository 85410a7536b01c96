#include "ctl_events.h"
