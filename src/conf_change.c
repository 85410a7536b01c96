#include "conf_change.h"
