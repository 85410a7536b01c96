#include "ctl.h"
