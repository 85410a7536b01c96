/* Placeholder (issue 7 in progress). */
#include "priv_wire.h"
