/* Placeholder (issue 7 in progress). */
#include "sandbox.h"
