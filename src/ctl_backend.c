#include "ctl_backend.h"
