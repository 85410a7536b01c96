/* Placeholder (issue 7 in progress). */
#include "privsep.h"
